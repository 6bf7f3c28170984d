#include "monitor.h"

#include "commands.h"
#include "exception.h"
#include "libc.h"
#include "print.h"
#include "readline.h"
#include "session.h"

#define MAX_ARGS 8

static int split(char *line, char **argv)
{
    int argc = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return argc;
        if (argc == MAX_ARGS)
            return -1;
        argv[argc++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
    }
}

static void dispatch(char *line)
{
    char *argv[MAX_ARGS];
    int argc = split(line, argv);
    if (argc < 0) {
        puts_("error: too many arguments");
        return;
    }
    if (argc == 0)
        return;
    for (const struct command *c = commands; c->name; c++) {
        if (strcmp(c->name, argv[0]) != 0)
            continue;
        if (argc - 1 < c->min_args || argc - 1 > c->max_args) {
            printf_("error: usage: %s %s\n", c->name, c->usage);
            return;
        }
        c->run(argc, argv);
        return;
    }
    printf_("error: unknown command '%s' (try help)\n", argv[0]);
}

void monitor_run(void)
{
    static char line[160];
    exception_rearm();
    if (session_active())        /* restarted after a fault during a host session */
        session_run();
    for (;;) {
        printf_(MONITOR_PROMPT);
        if (readline(line, sizeof line) >= 0)
            dispatch(line);
    }
}
