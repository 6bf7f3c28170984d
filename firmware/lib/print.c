#include "print.h"

#include <stdint.h>

static print_output_fn output;

void print_set_output(print_output_fn out)
{
    output = out;
}

struct out {
    char *buf;
    size_t size;
    size_t len;
};

static void out_char(struct out *o, char c)
{
    if (o->buf == NULL) {
        if (output)
            output(c);
    } else if (o->len + 1 < o->size) {
        o->buf[o->len] = c;
    }
    o->len++;
}

static void out_number(struct out *o, uint64_t v, unsigned base, int width, char pad, int negative)
{
    char digits[24];
    int n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        digits[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v != 0);
    if (negative) {
        if (pad == '0')
            out_char(o, '-');
        width--;
    }
    for (int i = n; i < width; i++)
        out_char(o, pad);
    if (negative && pad != '0')
        out_char(o, '-');
    while (n > 0)
        out_char(o, digits[--n]);
}

static void format(struct out *o, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            out_char(o, *fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0;
        int left = 0;
        if (*fmt == '-') {
            left = 1;
            fmt++;
        }
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        int is_long = 0;
        while (*fmt == 'l') {
            is_long = 1;
            fmt++;
        }
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (s == NULL)
                s = "(null)";
            int len = 0;
            while (s[len])
                len++;
            if (!left)
                for (int i = len; i < width; i++)
                    out_char(o, ' ');
            for (int i = 0; i < len; i++)
                out_char(o, s[i]);
            if (left)
                for (int i = len; i < width; i++)
                    out_char(o, ' ');
            break;
        }
        case 'c':
            out_char(o, (char)va_arg(ap, int));
            break;
        case 'd': {
            int64_t v = is_long ? va_arg(ap, int64_t) : va_arg(ap, int);
            out_number(o, v < 0 ? (uint64_t)-v : (uint64_t)v, 10, width, pad, v < 0);
            break;
        }
        case 'u':
            out_number(o, is_long ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width, pad, 0);
            break;
        case 'x':
            out_number(o, is_long ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width, pad, 0);
            break;
        case 'p':
            out_char(o, '0');
            out_char(o, 'x');
            out_number(o, (uintptr_t)va_arg(ap, void *), 16, 16, '0', 0);
            break;
        case '%':
            out_char(o, '%');
            break;
        case '\0':
            return;
        default:
            out_char(o, '%');
            out_char(o, *fmt);
            break;
        }
    }
}

int vsnprintf_(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = {buf, size, 0};
    format(&o, fmt, ap);
    if (size > 0)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int snprintf_(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf_(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

void printf_(const char *fmt, ...)
{
    struct out o = {NULL, 0, 0};
    va_list ap;
    va_start(ap, fmt);
    format(&o, fmt, ap);
    va_end(ap);
}

void puts_(const char *s)
{
    printf_("%s\n", s);
}
