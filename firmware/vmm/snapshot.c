#include "snapshot.h"

#include <stddef.h>

#include <cache.h>    /* <>: host builds shadow it */
#include "console.h"
#include "crc32.h"
#include "libc.h"
#include "memmap.h"
#include "print.h"
#include "stage2.h"
#include "timer.h"
#include "vm_pause.h"
#include <sysreg.h>   /* <>: host tests may shadow it */

static struct snapshot snapshots[MAX_SNAPSHOTS];
static uint32_t last_seq;

#define PAGE 0x1000UL
#define PLACE_ALIGN 0x10000UL            /* where snapshots start: 64 KiB */
/* RAM is copied this much at a time with the link polled between, as every long
 * operation of the boot core does (vm.c, maintain_ram): the host's frames are taken in
 * and the request acknowledged while a large VM is copied. */
#define COPY_CHUNK 0x40000UL

static void copy_tag(char *out, const char *tag)
{
    unsigned i = 0;
    for (; i < LIMIT_SNAPSHOT_TAG && tag[i]; i++)
        out[i] = tag[i];
    out[i] = 0;
}

static int fail(char *why, unsigned n, int status, const char *text)
{
    snprintf_(why, n, "%s", text);
    return status;
}

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return blen != 0 && a < b + blen && b < a + alen;
}

const struct snapshot *snapshot_slot(unsigned i)
{
    return i < MAX_SNAPSHOTS ? &snapshots[i] : NULL;
}

const struct snapshot *snapshot_holding(uint64_t pa, uint64_t len)
{
    for (unsigned i = 0; i < MAX_SNAPSHOTS; i++)
        if (snapshots[i].used && overlaps(pa, len, snapshots[i].pa, snapshots[i].size))
            return &snapshots[i];
    return NULL;
}

static struct snapshot *find(uint32_t id, const char *tag)
{
    for (unsigned i = 0; i < MAX_SNAPSHOTS; i++)
        if (snapshots[i].used && snapshots[i].vm == id && strcmp(snapshots[i].tag, tag) == 0)
            return &snapshots[i];
    return NULL;
}

static int tag_refused(const char *tag, char *why, unsigned n)
{
    size_t len = strlen(tag);
    for (size_t i = 0; i < len; i++) {
        char c = tag[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            snprintf_(why, n, "snapshot tag: byte %u (0x%x) is not a letter, digit, '.', '_' "
                      "or '-'", (unsigned)i, (unsigned)(uint8_t)c);
            return 1;
        }
    }
    if (len == 0 || len > LIMIT_SNAPSHOT_TAG) {
        snprintf_(why, n, "snapshot tag: 1..%u bytes, not %u", LIMIT_SNAPSHOT_TAG, (unsigned)len);
        return 1;
    }
    return 0;
}

static struct vm *vm_refused(uint32_t id, char *why, unsigned n)
{
    struct vm *vm = vm_get(id);
    if (!vm)
        snprintf_(why, n, "no VM with id %u", id);
    return vm;
}

static uint64_t vm_ram_bytes(const struct vm *vm)
{
    uint64_t total = 0;
    for (unsigned r = 0; r < vm->nregions; r++)
        if (vm->regions[r].kind == REGION_RAM)
            total += vm->regions[r].size;
    return total;
}

static uint64_t record_size(void)
{
    return (sizeof(struct snapshot_record) + PAGE - 1) & ~(PAGE - 1);
}

uint64_t snapshot_record_size(void)
{
    return record_size();
}

static uint64_t bitmap_bytes(uint64_t ram)
{
    return ((ram / PAGE + 63) / 64) * 8;
}

static uint64_t *bitmap_of(const struct snapshot *s)
{
    return (uint64_t *)(uintptr_t)(s->pa + record_size() + s->ram);
}

/* --- dirty logging ------------------------------------------------------------------- */

static int has_devices(const struct vm *vm)
{
    for (unsigned r = 0; r < vm->nregions; r++)
        if (vm->regions[r].kind == REGION_DEVICE)
            return 1;
    return 0;
}

static void set_bits(uint64_t *bits, uint64_t first, uint64_t count)
{
    for (uint64_t i = first; i < first + count; i++)
        __atomic_fetch_or(&bits[i / 64], 1UL << (i % 64), __ATOMIC_RELAXED);
}

void snapshot_dirty_note(struct vm *vm, uint64_t ipa, uint64_t len)
{
    uint64_t *bits = vm->dirty;
    if (!bits)
        return;
    uint64_t page = 0;                   /* index of the region's first page */
    for (unsigned r = 0; r < vm->nregions; r++) {
        const struct vm_region *m = &vm->regions[r];
        if (m->kind != REGION_RAM)
            continue;
        if (overlaps(ipa, len, m->ipa, m->size)) {
            uint64_t from = ipa > m->ipa ? ipa : m->ipa;
            uint64_t to = ipa + len < m->ipa + m->size ? ipa + len : m->ipa + m->size;
            uint64_t first = (from - m->ipa) / PAGE, last = (to - m->ipa + PAGE - 1) / PAGE;
            set_bits(bits, page + first, last - first);
        }
        page += m->size / PAGE;
    }
}

void snapshot_note_write(uint64_t pa, uint64_t len)
{
    for (unsigned i = 0; i < MAX_VMS; i++) {
        struct vm *vm = &vms[i];
        if (vm->state == VM_FREE || !vm->dirty)
            continue;
        for (unsigned r = 0; r < vm->nregions; r++) {
            const struct vm_region *m = &vm->regions[r];
            if (m->kind != REGION_RAM || !overlaps(pa, len, m->pa, m->size))
                continue;
            uint64_t from = pa > m->pa ? pa : m->pa;
            uint64_t to = pa + len < m->pa + m->size ? pa + len : m->pa + m->size;
            snapshot_dirty_note(vm, m->ipa + (from - m->pa), to - from);
        }
    }
}

/* Every RAM region of the VM writable (or read-only), and the VMID's TLB entries gone. */
static void protect_ram(struct vm *vm, int writable)
{
    for (unsigned r = 0; r < vm->nregions; r++)
        if (vm->regions[r].kind == REGION_RAM)
            stage2_set_writable(&vm->s2, vm->regions[r].ipa, vm->regions[r].size, writable);
    stage2_flush_tlb(&vm->s2);
}

/* The VM's RAM equals snapshot s now (its vCPUs paused or off): log from here on. */
static void start_logging(struct vm *vm, const struct snapshot *s)
{
    const uint64_t *was = vm->dirty;
    vm->dirty = NULL;
    if (has_devices(vm)) {
        protect_ram(vm, 1);
        return;
    }
    /* Taken again while it is the one logged: the bits already set stay. Those pages now
     * equal the snapshot, so a restore that copies them back costs a little and changes
     * nothing; but a host that fetches the log (VM_DIRTY_FETCH, migrate's stop-and-copy)
     * learns from them what was written since its last fetch. */
    if (was != bitmap_of(s))
        memset(bitmap_of(s), 0, bitmap_bytes(s->ram));
    vm->sync_seq = s->seq;
    dsb_sy();
    vm->dirty = bitmap_of(s);
    protect_ram(vm, 0);
}

/* The VM's RAM regions, page p of them: its PA. */
static uint64_t page_pa(const struct vm *vm, uint64_t p)
{
    for (unsigned r = 0; r < vm->nregions; r++) {
        const struct vm_region *m = &vm->regions[r];
        if (m->kind != REGION_RAM)
            continue;
        if (p < m->size / PAGE)
            return m->pa + p * PAGE;
        p -= m->size / PAGE;
    }
    return 0;
}

static void copy_words(uint64_t dst, uint64_t src, uint64_t len)
{
    uint64_t *d = (uint64_t *)(uintptr_t)dst;
    const uint64_t *s = (const uint64_t *)(uintptr_t)src;
    for (uint64_t i = 0; i < len / 8; i += 8) {
        uint64_t a = s[i], b = s[i + 1], c = s[i + 2], e = s[i + 3];
        uint64_t f = s[i + 4], g = s[i + 5], h = s[i + 6], k = s[i + 7];
        d[i] = a; d[i + 1] = b; d[i + 2] = c; d[i + 3] = e;
        d[i + 4] = f; d[i + 5] = g; d[i + 6] = h; d[i + 7] = k;
    }
}

/* Page-multiple regions (VM_MAP insists on 4 KiB), so 64-byte steps cover them. */
static void copy_polling(uint64_t dst, uint64_t src, uint64_t len, int to_poc)
{
    for (uint64_t at = 0; at < len; at += COPY_CHUNK) {
        uint64_t n = len - at < COPY_CHUNK ? len - at : COPY_CHUNK;
        copy_words(dst + at, src + at, n);
        if (to_poc)
            dcache_clean_inval_poc((void *)(uintptr_t)(dst + at), n);
        console_poll_link();
    }
}

/* Restore of the snapshot being logged against: only the pages written since, each read
 * only again afterwards. Returns how many were copied. */
static uint64_t copy_back_dirty(struct vm *vm, const struct snapshot *s, int to_poc)
{
    uint64_t *bits = vm->dirty, copied = 0, from = s->pa + record_size();
    for (uint64_t w = 0; w < bitmap_bytes(s->ram) / 8; w++) {
        uint64_t word = bits[w];
        while (word) {
            uint64_t p = 64 * w + (uint64_t)__builtin_ctzl(word);
            word &= word - 1;
            uint64_t pa = page_pa(vm, p);
            copy_words(pa, from + p * PAGE, PAGE);
            if (to_poc)
                dcache_clean_inval_poc((void *)(uintptr_t)pa, PAGE);
            if (++copied % (COPY_CHUNK / PAGE) == 0)
                console_poll_link();
        }
        bits[w] = 0;
    }
    protect_ram(vm, 0);
    return copied;
}

/* The VM's RAM regions, page p of them: its IPA. */
static uint64_t page_ipa(const struct vm *vm, uint64_t p)
{
    for (unsigned r = 0; r < vm->nregions; r++) {
        const struct vm_region *m = &vm->regions[r];
        if (m->kind != REGION_RAM)
            continue;
        if (p < m->size / PAGE)
            return m->ipa + p * PAGE;
        p -= m->size / PAGE;
    }
    return 0;
}

int snapshot_dirty_fetch(uint32_t id, uint64_t first, uint64_t count, uint8_t *out,
                         char *why, unsigned n)
{
    struct vm *vm = vm_refused(id, why, n);
    if (!vm)
        return STATUS_BAD_REQUEST;
    if (!vm->dirty) {
        snprintf_(why, n, "VM %u (%s) keeps no dirty log: a snapshot starts one (not for a VM "
                  "with passthrough regions)", id, vm->name);
        return STATUS_BAD_REQUEST;
    }
    uint64_t pages = vm_ram_bytes(vm) / PAGE;
    if (first > pages || count > pages - first) {
        snprintf_(why, n, "pages 0x%lx+0x%lx: VM %u has 0x%lx pages of RAM", first, count, id, pages);
        return STATUS_REFUSED_RANGE;
    }
    /* Paused while the bits are taken: a guest write between reading a bit and making its
     * page read-only again would otherwise be neither in this answer nor in the next. */
    int running = vm->state == VM_RUNNING;
    if (running) {
        int st = vm_pause(vm, why, n);
        if (st != STATUS_OK)
            return st;
    }
    uint64_t *bits = vm->dirty;
    memset(out, 0, (count + 7) / 8);
    for (uint64_t i = 0; i < count; i++) {
        uint64_t p = first + i, mask = 1UL << (p % 64);
        if (!(bits[p / 64] & mask))
            continue;
        bits[p / 64] &= ~mask;
        out[i / 8] |= (uint8_t)(1u << (i % 8));
        stage2_set_writable(&vm->s2, page_ipa(vm, p), PAGE, 0);
        if (i % (COPY_CHUNK / PAGE) == 0)
            console_poll_link();
    }
    stage2_flush_tlb(&vm->s2);
    /* The log no longer says what differs from the snapshot: its restore copies it all. */
    vm->sync_seq = 0;
    if (running)
        vm_release(vm);
    return STATUS_OK;
}

/* Free board RAM for [base, base+size): inside one RAM range, clear of the stub, the boot
 * DTB, reserved memory and other snapshots (memmap_check), and of every VM's memory. */
static int range_free(uint64_t base, uint64_t size)
{
    char ignored[8];
    return memmap_check(base, size, MEM_WRITE, ignored, sizeof ignored) == 0 &&
           !vm_owns_pa(base, size, NULL);
}

/* The highest free range of `size` bytes: a free range ends either where a RAM range
 * ends or where something in the way begins, so those are the only ends worth trying. */
static int place(uint64_t size, uint64_t *pa)
{
    const struct memmap *m = memmap_get();
    uint64_t ends[MEMMAP_MAX_RAM + MEMMAP_MAX_RESERVED + MAX_VMS * MAX_REGIONS + MAX_SNAPSHOTS + 2];
    unsigned count = 0;
    for (int i = 0; i < m->ram_count; i++)
        ends[count++] = m->ram[i].base + m->ram[i].size;
    ends[count++] = m->stub_base;
    ends[count++] = m->dtb;
    for (int i = 0; i < m->reserved_count; i++)
        ends[count++] = m->reserved[i].base;
    for (unsigned i = 0; i < MAX_VMS; i++)
        if (vms[i].state != VM_FREE)
            for (unsigned r = 0; r < vms[i].nregions; r++)
                ends[count++] = vms[i].regions[r].pa;
    for (unsigned i = 0; i < MAX_SNAPSHOTS; i++)
        if (snapshots[i].used)
            ends[count++] = snapshots[i].pa;
    int found = 0;
    for (unsigned i = 0; i < count; i++) {
        uint64_t end = ends[i];
        if (end < size)
            continue;
        uint64_t base = (end - size) & ~(PLACE_ALIGN - 1);
        if ((!found || base > *pa) && range_free(base, size)) {
            *pa = base;
            found = 1;
        }
    }
    return found;
}

static uint32_t micros_since(uint64_t start)
{
    uint64_t ticks = timer_now() - start, hz = read_sysreg(cntfrq_el0);
    uint64_t us = hz ? ticks * 1000000 / hz : 0;
    return us > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)us;
}

static uint32_t record_crc(const struct snapshot_record *rec)
{
    return crc32_update(0, rec, offsetof(struct snapshot_record, record_crc));
}

uint32_t snapshot_record_crc(const struct snapshot_record *rec)
{
    return record_crc(rec);
}

static void fill_record(struct snapshot_record *rec, const struct vm *vm, const char *tag,
                        uint64_t total)
{
    memset(rec, 0, record_size());
    rec->magic = SNAPSHOT_MAGIC;
    rec->format = SNAPSHOT_FORMAT;
    rec->record_size = record_size();
    rec->total_size = total;
    memcpy(rec->vm_name, vm->name, sizeof rec->vm_name);
    copy_tag(rec->tag, tag);
    rec->nvcpus = vm->nvcpus;
    for (unsigned r = 0; r < vm->nregions; r++)
        if (vm->regions[r].kind == REGION_RAM)
            rec->ram[rec->nregions++] = (struct snapshot_ram){vm->regions[r].ipa, vm->regions[r].size};
    rec->vcount = timer_now() - vm->cntvoff;
    rec->cntfrq = read_sysreg(cntfrq_el0);
    rec->console_ipa = vm->console_ipa;
    rec->gicd_ipa = vm->gicd_ipa;
    rec->gicr_ipa = vm->gicr_ipa;
    rec->console_irq = vm->console_irq;
    rec->privileged = vm->privileged;
    rec->vgic = vm->vgic;
    rec->console = vm->console;
    rec->console_in = vm->console_in;
    for (unsigned k = 0; k < vm->nvcpus; k++) {
        const struct vcpu *v = &vm->vcpus[k];
        if (v->state == VCPU_OFF)
            continue;
        rec->vcpus[k].on = 1;
        rec->vcpus[k].regs = v->saved;
        rec->vcpus[k].vgic = v->vgic;
    }
    rec->record_crc = record_crc(rec);
}

int snapshot_take(uint32_t id, const char *tag, uint64_t *pa, uint64_t *size,
                  uint32_t *paused_us, char *why, unsigned n)
{
    struct vm *vm = vm_refused(id, why, n);
    if (!vm)
        return STATUS_BAD_REQUEST;
    if (tag_refused(tag, why, n))
        return STATUS_BAD_REQUEST;
    if (vm->state != VM_RUNNING) {
        snprintf_(why, n, "VM %u (%s) is not running: only a running VM is snapshotted", id, vm->name);
        return STATUS_NOT_RUNNING;
    }
    uint64_t ram = vm_ram_bytes(vm);
    uint64_t total = (record_size() + ram + bitmap_bytes(ram) + PLACE_ALIGN - 1) &
                     ~(PLACE_ALIGN - 1);
    struct snapshot *s = find(id, tag);
    if (!s) {
        for (unsigned i = 0; i < MAX_SNAPSHOTS && !s; i++)
            if (!snapshots[i].used)
                s = &snapshots[i];
        if (!s) {
            snprintf_(why, n, "all %u snapshot slots are in use (vm drop frees one)", MAX_SNAPSHOTS);
            return STATUS_TOO_LARGE;
        }
        uint64_t at;
        if (!place(total, &at)) {
            uint64_t held = 0;
            unsigned count = 0;
            for (unsigned i = 0; i < MAX_SNAPSHOTS; i++)
                if (snapshots[i].used) {
                    held += snapshots[i].size;
                    count++;
                }
            snprintf_(why, n, "no free board RAM for a snapshot of VM %u (%s): it needs 0x%lx bytes "
                      "(%lu MiB of RAM and its state) in one range; %u snapshot(s) hold %lu MiB",
                      id, vm->name, total, (ram + 0xFFFFF) >> 20, count, held >> 20);
            return STATUS_TOO_LARGE;
        }
        *s = (struct snapshot){0, id, 0, {0}, at, total, ram};
        copy_tag(s->tag, tag);
    }
    int st = vm_pause(vm, why, n);
    if (st != STATUS_OK)
        return st;                       /* a new slot was never marked used */
    uint64_t start = timer_now();
    s->used = 1;                         /* from here on the memory is the snapshot's */
    struct snapshot_record *rec = (struct snapshot_record *)(uintptr_t)s->pa;
    fill_record(rec, vm, tag, total);
    uint64_t at = s->pa + rec->record_size;
    for (unsigned r = 0; r < vm->nregions; r++) {
        const struct vm_region *region = &vm->regions[r];
        if (region->kind != REGION_RAM)
            continue;
        copy_polling(at, region->pa, region->size, 0);
        at += region->size;
    }
    s->seq = ++last_seq;
    start_logging(vm, s);
    vm_release(vm);
    *pa = s->pa;
    *size = s->size;
    *paused_us = micros_since(start);
    return STATUS_OK;
}

/* Is the snapshot still one of this VM as it is mapped now? */
static int record_refused(const struct snapshot_record *rec, const struct vm *vm,
                          const struct snapshot *s, char *why, unsigned n)
{
    if (rec->magic != SNAPSHOT_MAGIC || rec->format != SNAPSHOT_FORMAT ||
        rec->record_size != record_size() || rec->record_crc != record_crc(rec)) {
        snprintf_(why, n, "snapshot %s of VM %u at 0x%lx: its state record is damaged", s->tag,
                  vm->id, s->pa);
        return 1;
    }
    unsigned count = 0;
    for (unsigned r = 0; r < vm->nregions; r++) {
        const struct vm_region *region = &vm->regions[r];
        if (region->kind != REGION_RAM)
            continue;
        if (count >= rec->nregions || rec->ram[count].ipa != region->ipa ||
            rec->ram[count].size != region->size) {
            snprintf_(why, n, "snapshot %s of VM %u: the VM's RAM region at IPA 0x%lx is not the "
                      "one the snapshot holds", s->tag, vm->id, region->ipa);
            return 1;
        }
        count++;
    }
    if (count != rec->nregions || rec->nvcpus != vm->nvcpus) {
        snprintf_(why, n, "snapshot %s of VM %u was taken of %u vCPUs and %u RAM regions, the VM "
                  "has %u and %u", s->tag, vm->id, rec->nvcpus, rec->nregions, vm->nvcpus, count);
        return 1;
    }
    return 0;
}

/* A guest that ran with its MMU or data cache off reads memory, not the caches. */
static int needs_poc(const struct snapshot_record *rec)
{
    for (unsigned k = 0; k < rec->nvcpus; k++)
        if (rec->vcpus[k].on && (rec->vcpus[k].regs.sctlr & 5) != 5)   /* SCTLR_EL1.M [0], C [2] */
            return 1;
    return 0;
}

/* The snapshot a host request names: VM id and tag checked, NULL with the reason in why. */
static struct snapshot *named(uint32_t id, const char *tag, struct vm **vm_out, char *why, unsigned n)
{
    struct vm *vm = vm_refused(id, why, n);
    if (!vm || tag_refused(tag, why, n))
        return 0;
    struct snapshot *s = find(id, tag);
    if (!s)
        snprintf_(why, n, "VM %u (%s) has no snapshot %s", id, vm->name, tag);
    if (vm_out)
        *vm_out = vm;
    return s;
}

/* The VM-wide state of a record (vGIC distributor, the emulated PL011 and its pending
 * input, guest time) into vm, keeping the console's way out to the host, which is this
 * stub's and not the record's. */
void snapshot_put_vm_state(struct vm *vm, const struct snapshot_record *rec)
{
    vm->vgic = rec->vgic;
    vpl011_tx_fn tx = vm->console.tx;
    void *ctx = vm->console.ctx;
    vm->console = rec->console;
    vm->console.tx = tx;
    vm->console.ctx = ctx;
    vm->console_in = rec->console_in;
    /* Guest time: the virtual counter goes on from the value it had when the snapshot
     * was taken, as if the guest had been frozen in between. Keeping CNTVOFF_EL2 instead
     * would show the guest a jump forward of however long the snapshot lay in RAM
     * (minutes, hours): every timer due at once, RCU and soft-lockup watchdogs reporting
     * stalls. Its wall clock (date) then lags real time by that much, as after QEMU's
     * loadvm; the physical counter, which no register offsets on these cores, shows real
     * time. A record from another board (VM_STATE_PUT) goes on the same way. */
    vm->cntvoff = timer_now() - rec->vcount;
}

int snapshot_restore(uint32_t id, const char *tag, uint32_t *paused_us, char *why, unsigned n)
{
    struct vm *vm;
    struct snapshot *s = named(id, tag, &vm, why, n);
    if (!s)
        return STATUS_BAD_REQUEST;
    const struct snapshot_record *rec = (const struct snapshot_record *)(uintptr_t)s->pa;
    if (record_refused(rec, vm, s, why, n))
        return STATUS_BAD_DATA;
    int running = vm->state == VM_RUNNING;
    if (running) {
        int st = vm_pause(vm, why, n);
        if (st != STATUS_OK)
            return st;
    } else {
        for (unsigned k = 0; k < vm->nvcpus; k++)
            if (vm->vcpus[k].state != VCPU_OFF)
                return fail(why, n, STATUS_BAD_REQUEST, "a vCPU of this VM is still on");
    }
    uint64_t start = timer_now();
    int to_poc = needs_poc(rec);
    if (vm->dirty && vm->sync_seq == s->seq) {
        copy_back_dirty(vm, s, to_poc);
    } else {
        uint64_t from = s->pa + rec->record_size;
        for (unsigned r = 0; r < vm->nregions; r++) {
            const struct vm_region *region = &vm->regions[r];
            if (region->kind != REGION_RAM)
                continue;
            copy_polling(region->pa, from, region->size, to_poc);
            from += region->size;
        }
        start_logging(vm, s);
    }
    snapshot_put_vm_state(vm, rec);
    unsigned to_start[MAX_VCPUS], starts = 0;
    for (unsigned k = 0; k < vm->nvcpus; k++) {
        struct vcpu *v = &vm->vcpus[k];
        if (rec->vcpus[k].on) {
            v->saved = rec->vcpus[k].regs;
            v->vgic = rec->vcpus[k].vgic;
            v->load_saved = 1;
            if (v->state == VCPU_OFF)
                to_start[starts++] = k;
        } else if (v->state != VCPU_OFF) {
            v->park_on_release = 1;
        }
    }
    if (!running)
        snapshot_set_running(vm);
    else
        vm_release(vm);
    for (unsigned i = 0; i < starts; i++) {
        int st = snapshot_start_vcpu(vm, &vm->vcpus[to_start[i]], "restored", why, n);
        if (st != STATUS_OK)
            return st;
    }
    *paused_us = micros_since(start);
    return STATUS_OK;
}

void snapshot_set_running(struct vm *vm)
{
    vm->stop_requested = 0;
    vm->stop_reason = STOP_NONE;
    vm->stop_reported = 0;
    vm->state = VM_RUNNING;
    vm_route_irqs(vm, 1);
}

int snapshot_start_vcpu(struct vm *vm, struct vcpu *v, const char *done, char *why, unsigned n)
{
    v->state = VCPU_STARTING;
    int64_t r = vcpu_power_on(v);
    if (r == 0)
        return STATUS_OK;
    v->state = VCPU_OFF;
    v->load_saved = 0;
    vm_request_stop(vm, STOP_FAULT);
    snprintf_(why, n, "%s, but PSCI CPU_ON of core %u (vCPU %u) failed: %ld; the VM is stopped",
              done, v->pcpu, v->index, r);
    return STATUS_NOT_SUPPORTED;
}

/* The snapshot's RAM is the guest's memory: zeroed before anyone else may have it, as a
 * destroyed VM's is (vm.c). */
static void forget(struct snapshot *s)
{
    struct vm *vm = vm_get(s->vm);
    if (vm && vm->dirty == bitmap_of(s)) {
        /* Its guest may be noting a page in the bitmap right now: stopped first. */
        char ignored[8];
        int paused = vm->state == VM_RUNNING && vm_pause(vm, ignored, sizeof ignored) == STATUS_OK;
        vm->dirty = NULL;
        protect_ram(vm, 1);
        if (paused)
            vm_release(vm);
    }
    for (uint64_t at = 0; at < s->size; at += COPY_CHUNK) {
        uint64_t len = s->size - at < COPY_CHUNK ? s->size - at : COPY_CHUNK;
        void *p = (void *)(uintptr_t)(s->pa + at);
        dcache_zero(p, len);
        dcache_clean_inval_poc(p, len);
        console_poll_link();
    }
    memset(s, 0, sizeof *s);
}

int snapshot_drop(uint32_t id, const char *tag, char *why, unsigned n)
{
    struct snapshot *s = named(id, tag, 0, why, n);
    if (!s)
        return STATUS_BAD_REQUEST;
    forget(s);
    return STATUS_OK;
}

void snapshot_drop_vm(uint32_t id)
{
    for (unsigned i = 0; i < MAX_SNAPSHOTS; i++)
        if (snapshots[i].used && snapshots[i].vm == id)
            forget(&snapshots[i]);
}
