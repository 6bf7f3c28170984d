/* What the hostile guest's files share: its console and hypercalls (main.c), the IVC
 * roles (ivc.c). */
#ifndef HOSTILE_H
#define HOSTILE_H

#include <stdint.h>

struct call { uint64_t x[4]; };

struct call hvc(uint64_t x0, uint64_t x1, uint64_t x2, uint64_t x3);
void putc_(char c);
void puts_(const char *s);
void putdec(uint64_t v);
extern uint64_t gicd_base, gicr_base;

void ivc_ping(uint64_t ipa, uint64_t n, uint32_t irq);
void ivc_pong(uint64_t ipa, uint64_t n, uint32_t irq);

#endif
