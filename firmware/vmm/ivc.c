#include "ivc.h"

#include "cache.h"
#include "console.h"
#include "gicv3.h"
#include "libc.h"
#include "memmap.h"
#include "print.h"
#include "protocol.h"
#include "vgic.h"
#include "vm.h"

struct share {
    char name[16];                   /* "" : slot free */
    uint64_t pa, size;
};

static struct share shares[MAX_SHARES];

static int fail(char *why, unsigned n, int status, const char *text)
{
    snprintf_(why, n, "%s", text);
    return status;
}

const char *ivc_share_name(unsigned share)
{
    return share < MAX_SHARES ? shares[share].name : "";
}

static int same_name(const char *a, const char *b)
{
    for (unsigned i = 0; i < 16; i++) {
        if (a[i] != b[i])
            return 0;
        if (!a[i])
            return 1;
    }
    return 1;
}

/* The region through which vm maps share index s, or NULL. */
static struct vm_region *share_region(struct vm *vm, unsigned s)
{
    for (unsigned r = 0; r < vm->nregions; r++)
        if (vm->regions[r].kind == REGION_SHARED && vm->regions[r].share == s)
            return &vm->regions[r];
    return NULL;
}

/* How many VMs other than `except` map share s. */
static unsigned parties(unsigned s, const struct vm *except)
{
    unsigned count = 0;
    for (unsigned i = 0; i < MAX_VMS; i++)
        if (&vms[i] != except && vms[i].state != VM_FREE && share_region(&vms[i], s))
            count++;
    return count;
}

int ivc_is_doorbell(const struct vm *vm, uint32_t intid)
{
    for (unsigned r = 0; r < vm->nregions; r++)
        if (vm->regions[r].kind == REGION_SHARED && vm->regions[r].doorbell_irq &&
            vm->regions[r].doorbell_irq == intid)
            return 1;
    return 0;
}

static int check_doorbell(const struct vm *vm, uint32_t irq, char *why, unsigned n)
{
    if (irq == 0)
        return STATUS_OK;
    if (irq < 32 || irq >= gic_intid_count())
        return fail(why, n, STATUS_BAD_REQUEST, "a doorbell must be an SPI of this board's GIC (or 0: none)");
    if (irq == vm->console_irq)
        return fail(why, n, STATUS_REFUSED_RANGE, "the doorbell is the VM's console interrupt");
    if (vm_owns_irq(vm, irq))
        return fail(why, n, STATUS_REFUSED_RANGE, "the doorbell is a physical interrupt handed to the VM");
    if (ivc_is_doorbell(vm, irq))
        return fail(why, n, STATUS_REFUSED_RANGE, "the doorbell rings for another share of this VM already");
    return STATUS_OK;
}

static int find_share(const char *name)
{
    for (unsigned s = 0; s < MAX_SHARES; s++)
        if (shares[s].name[0] && same_name(shares[s].name, name))
            return (int)s;
    return -1;
}

int vm_share(uint32_t id, const char *name, uint32_t doorbell_irq, uint64_t ipa, uint64_t pa,
             uint64_t size, char *why, unsigned n)
{
    struct vm *vm = vm_get(id);
    if (!vm)
        return fail(why, n, STATUS_BAD_REQUEST, "no such VM");
    if (vm->state != VM_CREATED)
        return fail(why, n, STATUS_BAD_REQUEST, "memory can only be added before the VM starts");
    if (!name[0])
        return fail(why, n, STATUS_BAD_REQUEST, "a share needs a name");
    if (size == 0 || ((ipa | pa | size) & 0xFFF) || ipa + size < ipa || pa + size < pa)
        return fail(why, n, STATUS_BAD_ALIGNMENT, "ipa, pa and size must be 4 KiB multiples");
    int st = check_doorbell(vm, doorbell_irq, why, n);
    if (st != STATUS_OK)
        return st;
    int s = find_share(name);
    if (s >= 0) {
        /* The one overlap allowed: the same pages, under the same name, in a second VM. */
        if (share_region(vm, (unsigned)s))
            return fail(why, n, STATUS_BAD_REQUEST, "the VM maps this share already");
        if (shares[s].pa != pa || shares[s].size != size) {
            snprintf_(why, n, "share %s is pa 0x%lx size 0x%lx in its other VM", shares[s].name,
                      shares[s].pa, shares[s].size);
            return STATUS_REFUSED_RANGE;
        }
        if (parties((unsigned)s, vm) >= SHARE_PARTIES)
            return fail(why, n, STATUS_TOO_LARGE, "a share joins two VMs, and this one has two");
    } else {
        if (memmap_check(pa, size, MEM_WRITE, why, n) != 0)
            return STATUS_REFUSED_RANGE;
        if (vm_owns_pa(pa, size, NULL))      /* any VM's RAM, this one's too, and every share */
            return fail(why, n, STATUS_REFUSED_RANGE, "pa overlaps a VM's memory or another share");
        for (s = 0; s < MAX_SHARES && shares[s].name[0]; s++)
            ;
        if (s == MAX_SHARES)
            return fail(why, n, STATUS_TOO_LARGE, "all share slots are in use");
    }
    struct vm_region *region;
    st = vm_add_region(vm, REGION_SHARED, ipa, pa, size, &region, why, n);
    if (st != STATUS_OK)
        return st;
    if (!shares[s].name[0]) {
        memset(&shares[s], 0, sizeof shares[s]);
        for (unsigned i = 0; i < 15 && name[i]; i++)
            shares[s].name[i] = name[i];
        shares[s].pa = pa;
        shares[s].size = size;
    }
    region->share = (uint8_t)s;
    region->doorbell_irq = (uint8_t)doorbell_irq;
    return STATUS_OK;
}

/* Zero a share nobody maps any more and clean it to PoC (as vm.c does a destroyed VM's own
 * RAM: DC ZVA, then clean and invalidate, so no dirty line of it is evicted later over what
 * the next owner puts there), with the host link served between chunks. */
static void scrub_share(const struct share *sh)
{
    for (uint64_t off = 0; off < sh->size; off += 0x10000) {
        void *p = (void *)(uintptr_t)(sh->pa + off);
        uint64_t n = sh->size - off < 0x10000 ? sh->size - off : 0x10000;
        dcache_zero(p, n);
        dcache_clean_inval_poc(p, n);
        console_poll_link();
    }
}

void ivc_release(struct vm *vm)
{
    for (unsigned r = 0; r < vm->nregions; r++) {
        const struct vm_region *m = &vm->regions[r];
        if (m->kind != REGION_SHARED || !shares[m->share].name[0])
            continue;
        if (parties(m->share, vm) == 0) {
            scrub_share(&shares[m->share]);
            shares[m->share].name[0] = 0;
        }
    }
}

int ivc_ring(struct vm *caller, uint64_t ipa)
{
    const struct vm_region *mine = NULL;
    for (unsigned r = 0; r < caller->nregions && !mine; r++) {
        const struct vm_region *m = &caller->regions[r];
        if (m->kind == REGION_SHARED && ipa >= m->ipa && ipa - m->ipa < m->size)
            mine = m;
    }
    if (!mine)
        return STATUS_REFUSED_RANGE;
    for (unsigned i = 0; i < MAX_VMS; i++) {
        struct vm *peer = &vms[i];
        if (peer == caller || peer->state == VM_FREE)
            continue;
        const struct vm_region *theirs = share_region(peer, mine->share);
        if (!theirs)
            continue;
        if (peer->state != VM_RUNNING || peer->stop_requested)
            return STATUS_NOT_RUNNING;
        if (!theirs->doorbell_irq)
            return STATUS_NOT_SUPPORTED;
        vgic_raise_spi(peer, theirs->doorbell_irq);
        return STATUS_OK;
    }
    return STATUS_NOT_RUNNING;        /* the peer has not been created, or is gone */
}
