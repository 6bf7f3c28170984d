"""The hvmon pytest plugin (entry point `pytest11`: installing hvmon is enough).

Fixtures: `board` (a framed Board on a brought-up stub, checked and recovered before each
test), `boards` (several boards at once), `power` (on/off/cycle/reset of the board under test), `vm` (a factory of guests that are stopped and destroyed after the test), `console`
(the console of the board's default guest), `hvmon_target` (the BoardTarget: QEMU process,
port, link), `snapshot` (the module's guest booted once and restored before each test).
Options: --hvmon-board, --hvmon-port, --hvmon-plan, --hvmon-pool, --hvmon-vm,
--hvmon-results. Markers: `hardware` (skipped on the QEMU board), `hvmon_qemu(...)` (QEMU
options for a test module's board), `hvmon_snapshot(...)` (what `snapshot` boots and where
it snapshots)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from ..bringup.board_profile import load_profile
from ..bringup.preload import preload_args
from ..bringup.qemu import free_loopback_port
from ..errors import HvmonError
from ..target.vms import find_vm
from .artifacts import TestCapture, folder_for_test
from .console import Console
from .guests import VmFactory
from .multi import BoardSet
from .power import PowerSwitch
from .pool import PortLock, pool_entry, worker_id, worker_index
from .snapshots import ModuleSnapshot, SnapshotNotTaken, spec_from_marker
from .target import BoardTarget

CAPTURE = pytest.StashKey[TestCapture]()
SETTINGS = pytest.StashKey["Settings"]()
DEFAULT_BOARD = "qemu-virt"


def pytest_addoption(parser):
    group = parser.getgroup("hvmon", "hvmon hardware-in-the-loop")
    group.addoption("--hvmon-board", metavar="PROFILE",
                    help=f"board profile name or board.toml path (default {DEFAULT_BOARD})")
    group.addoption("--hvmon-port", metavar="URL",
                    help="the board's serial line, any pyserial URL (/dev/ttyUSB0, "
                         "rfc2217://host:port, socket://...) or labgrid:PLACE (a labgrid place "
                         "you acquired); default: a QEMU board started here")
    group.addoption("--hvmon-plan", metavar="FILE",
                    help="a bring-up plan (board, port, VMs) applied after every bring-up")
    group.addoption("--hvmon-pool", metavar="FILE",
                    help="TOML file of [[board]] port/board entries: xdist worker N takes entry N")
    group.addoption("--hvmon-vm", metavar="FILE",
                    help="the guest the `console` fixture boots (default: linux.toml beside "
                         "the board profile)")
    group.addoption("--hvmon-results", metavar="DIR", default="results",
                    help="where each test's serial logs go (default: results/)")


OPTIONS = ("hvmon_board", "hvmon_port", "hvmon_plan", "hvmon_pool", "hvmon_vm")


def pytest_configure(config):
    # Wrong options stop the run at once, with one line (pytest's usage error, exit 4).
    # An xdist worker finds out its pool entry itself, when its first test needs it.
    if not hasattr(config, "workerinput") and any(config.getoption(o) for o in OPTIONS):
        settings(config)
    config.addinivalue_line("markers", "hardware(reason): needs a real board; skipped on the "
                            "QEMU board the plugin starts")
    config.addinivalue_line("markers", "hvmon_qemu(smp=, memory=, extra_args=, preload=): QEMU "
                            "options for the board of a test module (pytestmark)")
    config.addinivalue_line("markers", "hvmon_snapshot(pattern=r'/ # ', tag='hil', vm=None, "
                            "timeout=90): the guest the `snapshot` fixture boots once per "
                            "module (vm: a VM TOML file or dict, default the console fixture's "
                            "guest), the console pattern it is snapshotted at, its tag")


class Settings:
    """What the options say, resolved once per process without touching any board."""

    def __init__(self, config):
        opt = config.getoption
        self.results = Path(config.rootpath) / opt("hvmon_results")
        self.plan = None
        board, port = opt("hvmon_board"), opt("hvmon_port")
        if opt("hvmon_plan"):
            try:
                from ..bringup.plan import load_plan  # lazily: plans are optional
            except ImportError as exc:
                raise pytest.UsageError(f"--hvmon-plan: this hvmon has no plan support ({exc})")
            self.plan = _usage(load_plan, opt("hvmon_plan"))
            board = board or self.plan.board
            port = port or self.plan.port
        self.pool = opt("hvmon_pool")
        if opt("hvmon_pool"):
            if port:
                raise pytest.UsageError("--hvmon-pool and --hvmon-port exclude each other")
            entry = _usage(pool_entry, opt("hvmon_pool"), worker_index())
            port, board = entry.port, entry.board or board
        self.profile = _usage(load_profile, board or DEFAULT_BOARD)
        if port and port.startswith("labgrid:"):
            port = _usage(_labgrid_place_url, port)
        self.port = port
        vm = opt("hvmon_vm")
        beside = self.profile.path.parent / "linux.toml"
        self.default_vm = Path(vm) if vm else (beside if beside.is_file() else None)

    @property
    def is_qemu(self) -> bool:
        return self.port is None


def _labgrid_place_url(port: str) -> str:
    """--hvmon-port labgrid:PLACE: a place this user acquired (labgrid is optional)."""
    try:
        from ..labgrid.place import place_url
    except ImportError as exc:
        raise pytest.UsageError(f"--hvmon-port {port}: {exc}") from None
    return place_url(port)


def _usage(function, *args):
    try:
        return function(*args)
    except HvmonError as exc:
        raise pytest.UsageError(str(exc)) from None


def settings(config) -> Settings:
    if SETTINGS not in config.stash:
        config.stash[SETTINGS] = Settings(config)
    return config.stash[SETTINGS]


class Rig:
    """This worker's board: one BoardTarget at a time. A port is held (locked) for the
    whole run; a QEMU board is started for a module and stopped after it."""

    def __init__(self, config):
        self.settings = settings(config)
        self.folder = self.settings.results / f"hvmon-{worker_id()}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log = open(self.folder / "hvmon.log", "a")
        self.port_lock = PortLock(self.settings.port) if self.settings.port else None
        self.qemu_lock: PortLock | None = None
        self.target: BoardTarget | None = None
        self.key = None

    def say(self, text: str) -> None:
        self.log.write(text + "\n")
        self.log.flush()

    def get(self, qemu_options: dict) -> BoardTarget:
        key = repr(sorted(qemu_options.items())) if self.settings.is_qemu else "port"
        if self.target is not None and self.key == key:
            return self.target
        self.release()
        options = self._qemu_options(qemu_options) if self.settings.is_qemu else None
        lock = self.port_lock or self.qemu_lock
        target = BoardTarget(self.settings.profile, self.folder, url=self.settings.port,
                             qemu_options=options, say=self.say,
                             watch=lock.watch if lock is not None else None)
        if self.settings.plan is not None:
            target.on_ready.append(self._apply_plan)
        try:
            target.start()
        except BaseException:
            target.stop()                    # no half-started board for the next module
            raise
        self.target, self.key = target, key
        return target

    def release(self) -> None:
        if self.target is not None:
            self.target.stop()
        if self.qemu_lock is not None:
            self.qemu_lock.release()
        self.target, self.key, self.qemu_lock = None, None, None

    def _qemu_options(self, asked: dict) -> dict:
        options, self.qemu_lock = self.qemu_options_for(asked)
        return options

    def qemu_options_for(self, asked: dict) -> tuple[dict, PortLock]:
        """QEMU options for a board of this run, on a loopback port locked for it."""
        options = {k: v for k, v in asked.items() if k != "preload"}
        options["extra_args"] = list(options.get("extra_args", []))
        while True:              # a loopback port no other worker holds
            port = free_loopback_port()
            try:
                # The URL the board will have: the CLI is refused on it, and `hvmon -p
                # URL watch` finds the run's board by it.
                lock = PortLock(f"socket://127.0.0.1:{port}")
                break
            except HvmonError:
                continue
        options["port"] = port
        plan = self.settings.plan
        preload = [self.settings.default_vm] if self.settings.default_vm else []
        if plan is not None:                 # the plan's [qemu] table, unless the module asks
            for key in ("smp", "memory"):
                if getattr(plan.qemu, key) and key not in options:
                    options[key] = getattr(plan.qemu, key)
            if plan.qemu.preload:
                preload = [vm.config for vm in plan.vms]
        if asked.get("preload", True):
            for config in preload:
                try:
                    options["extra_args"] += preload_args(config, self.folder)
                except (HvmonError, OSError) as exc:
                    self.say(f"not preloading {config}: {exc}")
        return options, lock

    def _apply_plan(self, target: BoardTarget) -> None:
        from ..bringup.plan import apply_plan
        apply_plan(self.settings.plan, target.board, log=self.say)

    def close(self) -> None:
        self.release()
        if self.port_lock is not None:
            self.port_lock.release()
        self.log.close()


def pytest_runtest_setup(item):
    marker = item.get_closest_marker("hardware")
    if marker is not None and settings(item.config).is_qemu:
        why = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
        pytest.skip("needs real hardware; this run's board is the QEMU board the hvmon plugin "
                    "started (give --hvmon-port)" + (f": {why}" if why else ""))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    capture = item.stash.get(CAPTURE, None)
    if capture is not None and report.failed:
        try:
            report.sections.extend(capture.report_sections())
        except OSError as exc:
            report.sections.append(("hvmon artifacts", f"could not be written: {exc}"))


@pytest.fixture(scope="session")
def hvmon_rig(pytestconfig):
    rig = Rig(pytestconfig)
    yield rig
    rig.close()


@pytest.fixture(scope="module")
def hvmon_target(request, hvmon_rig) -> BoardTarget:
    """The board under test, brought up; shared by a module's tests."""
    marker = request.node.get_closest_marker("hvmon_qemu")
    yield hvmon_rig.get(dict(marker.kwargs) if marker else {})
    if hvmon_rig.settings.is_qemu:
        # A QEMU board lives for one module: between modules it would only burn a core
        # that the next module's own QEMU needs. A real board's port stays open: the next
        # module finds its stub answering and needs no bring-up.
        hvmon_rig.release()


@pytest.fixture
def hvmon_capture(request, hvmon_target, hvmon_rig):
    capture = TestCapture(hvmon_rig.settings.results / folder_for_test(request.node.nodeid),
                          hvmon_target)
    request.node.stash[CAPTURE] = capture
    yield capture
    capture.finish(hvmon_rig.folder)


@pytest.fixture
def board(request, hvmon_target, hvmon_capture):
    """The stub in framed mode (hvmon.board.Board), answering: if it stopped answering it
    was reset (the profile's [power] command, or QEMU's reset) and brought up again."""
    hvmon_target.ensure_alive(guests=bool({"vm", "console"} & set(request.fixturenames)))
    return hvmon_target.board


@pytest.fixture
def vm(request, board, hvmon_target, hvmon_capture):
    """vm(config_path_or_dict, start=True) -> VmHandle (.id .name .console .state .stop()
    .wait_stopped()); every VM made is stopped and destroyed after the test."""
    factory = VmFactory(hvmon_target, hvmon_capture, base=request.config.rootpath)
    yield factory
    for problem in factory.cleanup():
        warnings.warn(f"hvmon: cleaning up after the test: {problem}", stacklevel=1)


@pytest.fixture
def console(vm, board, hvmon_rig):
    """The console (expect/send) of the board's default guest, created and started for
    this test: --hvmon-vm, or linux.toml beside the board profile. With a plan that names
    a `console` VM, that VM's console instead (the plan made it; expect() then reads its
    output from its start on this connection)."""
    plan = hvmon_rig.settings.plan
    if plan is not None and plan.console:
        entry = find_vm(board, plan.console)
        plan_console = Console(board, entry.id, entry.name)
        plan_console.start = plan_console.cursor = 0
        return plan_console
    path = hvmon_rig.settings.default_vm
    if path is None:
        pytest.fail(f"the console fixture needs a guest: give --hvmon-vm (no linux.toml beside "
                    f"{hvmon_rig.settings.profile.path})", pytrace=False)
    return vm(path).console


@pytest.fixture
def power(hvmon_target):
    """The board under test's power: .on() .off() .cycle() .reset() run its profile's
    [power] commands (a QEMU board the plugin started is switched itself when the
    profile has none); .boot_stub() brings the stub up again and returns the Board. The
    next test finds the board recovered whatever this one left it in."""
    return PowerSwitch(hvmon_target)


@pytest.fixture
def boards(request, hvmon_rig):
    """boards(count=2, **qemu_options) -> [TestBoard]: several boards for one test, each
    with .board, .vm(config), .url and its own logs in results/<test>/board-<n>/. Two
    QEMU boards started for the test, or, with --hvmon-pool, this worker's board and the
    next free pool entries. QEMU boards are stopped after the test."""
    marker = request.node.get_closest_marker("hvmon_qemu")
    folder = hvmon_rig.settings.results / folder_for_test(request.node.nodeid)
    board_set = BoardSet(hvmon_rig, folder, request.config.rootpath,
                         dict(marker.kwargs) if marker else {})
    yield board_set
    for problem in board_set.close():
        warnings.warn(f"hvmon: cleaning up after the test: {problem}", stacklevel=1)


@pytest.fixture(scope="module")
def hvmon_snapshot_keeper(request, hvmon_target, hvmon_rig):
    """The module's snapshot guest (hil/snapshots.py): booted by the first test that asks
    for `snapshot`, dropped and destroyed when the module ends."""
    keeper = ModuleSnapshot(hvmon_target, say=hvmon_rig.say, base=request.config.rootpath)
    yield keeper
    for problem in keeper.close():
        warnings.warn(f"hvmon: dropping the module's snapshot: {problem}", stacklevel=1)


@pytest.fixture
def snapshot(request, board, hvmon_snapshot_keeper, hvmon_capture, hvmon_rig):
    """The module's guest, restored to its snapshot for this test: .console (reads only
    what the guest printed after the restore), .vm (the VmHandle), .board, .name, .tag,
    .restore() (back again mid-test). The guest is booted once per module, on the first
    test that asks, and snapshotted when its console matches the pattern of
    @pytest.mark.hvmon_snapshot (default r"/ # ", the busybox shell's prompt)."""
    marker = request.node.get_closest_marker("hvmon_snapshot")
    try:
        spec = spec_from_marker(dict(marker.kwargs) if marker else {},
                                hvmon_rig.settings.default_vm, request.config.rootpath)
    except ValueError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        return hvmon_snapshot_keeper.guest(spec, hvmon_capture)
    except SnapshotNotTaken as exc:
        pytest.fail(str(exc), pytrace=False)
