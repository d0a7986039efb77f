"""What every device shares: its profile, the protocol a runner follows, the registry of device
kinds, and the one mapping between what a user types (``--device host``, ``adb:SERIAL``,
``gpu``, a stored profile id) and the profile id under which measurements and estimators are
stored.

Profile ids, each form written once (:data:`ID_FORMS`) and read back by the same template:
- ``host/<cpu>-<digest>/t<threads>``: this machine's CPU (LiteRT interpreter, XNNPACK);
- ``adb/<phone model>-<serial>/gpu`` or ``.../cpu-t<threads>``: a phone with benchmark_model;
- ``gpu/<adapter>/<backend>`` (``.../fp32`` when run at full precision): LiteRT's GPU
  accelerator on this machine's graphics adapter;
- ``phone/<phone>/gpu`` or ``.../cpu-<cores>`` (``-quant`` for quantised models): a phone known
  from published measurements (:mod:`.published`), imported with ``leti db import``; it cannot
  measure, only be estimated.
"""

from __future__ import annotations

import hashlib
import platform
import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from ..errors import LetiError
from ..timing import Burst, Timing

DEVICE_HELP = (
    "'host' (this machine's CPU), 'gpu' (this machine's GPU through LiteRT), 'adb:SERIAL' "
    "(a phone; see 'leti devices') or a stored profile id such as 'phone/pixel4/gpu'"
)


@dataclass
class DeviceProfile:
    """Who measured: the key under which measurements and estimators are stored."""

    id: str
    kind: str  # host | gpu | adb | phone
    delegate: str  # xnnpack | gpu | cpu
    threads: int
    runtime: str
    runtime_version: str
    fingerprint: dict[str, Any] = field(default_factory=dict)


class NoProfile(LetiError):
    """No measured profile matches the device asked for."""


class Device(Protocol):
    """What a build, a measurement and an evaluation need from a device. Whether its single
    ops are timed in context is a fact of its kind (:attr:`DeviceKind.in_context`), found by
    ``profile.kind``, so no device has to be asked for an attribute it may not have."""

    @property
    def profile(self) -> DeviceProfile: ...

    def check(self) -> None: ...

    def measure(self, model: bytes, runs: int | None = None) -> Timing: ...


class Runner(Protocol):
    """One model opened on a device and warmed up, timed in short bursts as often as asked
    (:class:`Interleaving`), then closed."""

    def burst(self, burst: Burst) -> Timing: ...

    def close(self) -> None: ...


@runtime_checkable
class Interleaving(Protocol):
    """A device that keeps several models open at once, so a build can time each of them in
    short bursts interleaved with the others' (:func:`..services.measure.measure_interleaved`)
    rather than in one burst: a slow spell of a shared machine then lands on one burst of a
    model, not on all of its timing. Declared rather than guessed with hasattr."""

    def open(self, model: bytes) -> Runner: ...


@runtime_checkable
class KernelProfiler(Protocol):
    """A device that times every GPU kernel inside a whole model (a phone's GPU delegate with
    op profiling): what the zoo suite needs, declared rather than guessed with hasattr."""

    def profile_kernels(
        self, model: bytes, runs: int | None = None
    ) -> tuple[list[tuple[str, float]], Timing]: ...


# --- profile ids: each form written once, read back by the same template ----------------------

# What each field of an id template may hold when an id is read back.
_FIELDS = {
    "cpu": r"[^/]+",
    "name": r"[^/]*",
    "serial": r"[^/-]+",  # an emulator's serial (emulator-5554) reads back as its last part
    "threads": r"[1-9][0-9]*",
    "adapter": r"[^/]+",
    "backend": r"[^/]+",
    "phone": r"[^/]+",
    "config": r"[^/]+?",
}
# A published phone's model precision, as the tail of its id.
QUANT_TAILS = {"float": "", "quant": "-quant"}
_FIELDS["quant"] = "|".join(re.escape(t) for t in QUANT_TAILS.values())
_TEMPLATE = string.Formatter()


class IdForm:
    """One form of profile id as a template (``adb/{name}-{serial}/cpu-t{threads}``):
    :meth:`write` fills it in, :meth:`pattern` and :meth:`read` take ids apart by the same
    template, so what is written and what is read back cannot disagree."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.fields = {name for _, name, _, _ in _TEMPLATE.parse(template) if name}

    def write(self, **values: object) -> str:
        return self.template.format(**values)

    def pattern(self, **fixed: object) -> re.Pattern[str]:
        """The ids of this form; a field in ``fixed`` must hold exactly the value given."""
        out = []
        for literal, name, _, _ in _TEMPLATE.parse(self.template):
            out.append(re.escape(literal))
            if name in fixed:
                out.append(re.escape(str(fixed[name])))
            elif name:
                out.append(f"(?P<{name}>{_FIELDS[name]})")
        return re.compile("".join(out))

    def read(self, device_id: str) -> dict[str, str] | None:
        """The fields of ``device_id``, or None when it is not of this form."""
        m = self.pattern().fullmatch(device_id)
        return m.groupdict() if m else None

    def hint(self) -> str:
        return self.template.replace("{quant}", "").replace("{", "<").replace("}", ">")


# kind -> (the option that chooses among its forms, {each value of that option: its form}).
# The keys are all the values the option can take, the first its default: the delegates and
# the precisions a device accepts are said here and nowhere else.
ID_FORMS: dict[str, tuple[str, dict[str, IdForm]]] = {
    "host": ("", {"": IdForm("host/{cpu}/t{threads}")}),
    "adb": (
        "delegate",
        {
            "gpu": IdForm("adb/{name}-{serial}/gpu"),
            "cpu": IdForm("adb/{name}-{serial}/cpu-t{threads}"),
        },
    ),
    "gpu": (
        "precision",
        {
            "fp16": IdForm("gpu/{adapter}/{backend}"),
            "fp32": IdForm("gpu/{adapter}/{backend}/fp32"),
        },
    ),
    "phone": (
        "delegate",
        {
            "gpu": IdForm("phone/{phone}/gpu{quant}"),
            "cpu": IdForm("phone/{phone}/cpu-{config}{quant}"),
        },
    ),
}
DELEGATES = tuple(ID_FORMS["adb"][1])  # phones: the GPU delegate (default) or the CPU
PRECISIONS = tuple(ID_FORMS["gpu"][1])  # gpu: fp16 (the accelerator's default) or fp32


def check_threads(threads: int) -> int:
    if threads < 1:
        raise LetiError(f"threads must be at least 1, got {threads}")
    return threads


def check_delegate(delegate: str) -> str:
    if delegate not in DELEGATES:
        raise LetiError(f"unknown delegate {delegate!r}", f"use {' or '.join(DELEGATES)}")
    return delegate


def check_precision(precision: str) -> str:
    """The one check of a precision: a spec's (the GPU device takes it from one) and the
    command lines' (their argparse type)."""
    if precision not in PRECISIONS:
        raise LetiError(f"unknown precision {precision!r}", f"use {' or '.join(PRECISIONS)}")
    return precision


# --- the registry of device kinds --------------------------------------------------------------

Opener = Callable[..., Device]


@dataclass(frozen=True)
class DeviceKind:
    """One kind of device, found by name (as nn-Meter's ``connect_backend`` finds a backend):
    how a spec of it opens, whether its single ops are timed in context, and what its profile
    ids must name beyond their form. ``devices/__init__`` registers the built-in kinds."""

    name: str
    # (spec, benchmark binary, **runner options) -> an opened device; None: the kind's profiles
    # come from elsewhere (``known_from``) and there is nothing to open
    opens: Opener | None
    # single ops timed as the slope over 1, 2, 4 and 8 copies (a runtime whose per-run
    # dispatch dwarfs one op: :mod:`..services.context`)
    in_context: bool = False
    # raises a LetiError when the fields of a well-formed id name nothing (an unknown phone)
    check_id: Callable[[dict[str, str]], None] | None = None
    known_from: str = ""


KINDS: dict[str, DeviceKind] = {}


def register(kind: DeviceKind) -> None:
    """Add (or replace) a kind of device in the registry."""
    KINDS[kind.name] = kind


def device_kind(name: str) -> DeviceKind:
    try:
        return KINDS[name]
    except KeyError:
        raise LetiError(f"no device kind {name!r}", f"the kinds are {', '.join(KINDS)}") from None


# --- what the user typed -----------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceSpec:
    """A parsed ``--device`` argument with the options that make a distinct profile. A spec
    that names a stored profile id keeps it in ``profile``, with the options the id says."""

    kind: str  # host | gpu | adb | phone
    serial: str = ""
    threads: int = 1
    delegate: str = DELEGATES[0]  # phones: gpu | cpu
    precision: str = PRECISIONS[0]  # gpu: fp16 | fp32
    text: str = ""
    profile: str = ""

    def __post_init__(self) -> None:
        check_threads(self.threads)
        check_delegate(self.delegate)
        check_precision(self.precision)

    @classmethod
    def parse(
        cls,
        text: str,
        threads: int = 1,
        delegate: str = DELEGATES[0],
        precision: str = PRECISIONS[0],
    ) -> DeviceSpec:
        """The device ``text`` names (``host``, ``gpu``, ``adb:SERIAL`` or a profile id) with
        the options; a LetiError saying what is wrong when it names none."""
        if text in ("host", "gpu"):
            spec = cls(text, text=text)
        elif text.startswith("adb:") and len(text) > 4:
            spec = cls("adb", serial=text[4:], text=text)
        elif text.split("/", 1)[0] in ID_FORMS and "/" in text:
            spec = read_id(text)
        else:
            raise LetiError(f"unknown device {text!r}", f"use {DEVICE_HELP}")
        return spec.with_options(threads, delegate, precision)

    def with_options(
        self,
        threads: int = 1,
        delegate: str = DELEGATES[0],
        precision: str = PRECISIONS[0],
    ) -> DeviceSpec:
        """This device with the command line's options, checked as the spec is made; a
        profile id keeps its own, which the id says."""
        chosen = replace(self, threads=threads, delegate=delegate, precision=precision)
        return self if self.profile else chosen

    @property
    def choice(self) -> str:
        """The value of the option that chooses this kind's id form (delegate or precision)."""
        option = ID_FORMS[self.kind][0]
        return {"delegate": self.delegate, "precision": self.precision}.get(option, "")

    def form(self) -> IdForm:
        return ID_FORMS[self.kind][1][self.choice]


def read_id(device_id: str) -> DeviceSpec:
    """The spec of a stored profile id, its options read back from the id's own form."""
    kind = device_id.split("/", 1)[0]
    if kind not in ID_FORMS:
        raise LetiError(f"unknown device {device_id!r}", f"use {DEVICE_HELP}")
    option, forms = ID_FORMS[kind]
    for value, form in forms.items():
        fields = form.read(device_id)
        if fields is None:
            continue
        check = KINDS[kind].check_id if kind in KINDS else None
        if check is not None:
            check(fields)
        return DeviceSpec(
            kind,
            serial=fields.get("serial") or "",
            threads=int(fields.get("threads") or 1),
            text=device_id,
            profile=device_id,
            **({option: value} if option else {}),
        )
    forms_text = " or ".join(f"'{f.hint()}'" for f in forms.values())
    raise LetiError(f"{device_id!r} is not a well-formed {kind} profile id", f"{forms_text}")


def slug(text: str, limit: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def host_profile_id(threads: int) -> str:
    cpu = cpu_model()
    digest = hashlib.sha1(cpu.encode()).hexdigest()[:6]
    return ID_FORMS["host"][1][""].write(cpu=f"{slug(cpu)}-{digest}", threads=threads)


def adb_profile_id(model: str, serial: str, delegate: str, threads: int) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "-", model or "phone").strip("-")
    return ID_FORMS["adb"][1][delegate].write(name=name, serial=serial, threads=threads)


def gpu_profile_id(adapter: str, backend: str, precision: str) -> str:
    return ID_FORMS["gpu"][1][precision].write(adapter=slug(adapter), backend=slug(backend))


def phone_profile_id(phone: str, config: str, precision: str = "float") -> str:
    """A published phone's profile: ``config`` is ``gpu`` or a CPU core set (``1large``)."""
    form = ID_FORMS["phone"][1]["gpu" if config == "gpu" else "cpu"]
    return form.write(phone=phone, config=config, quant=QUANT_TAILS[precision])


def profile_id(spec: DeviceSpec, known: Iterable[str] = ()) -> str:
    """The profile id ``spec`` means, without touching a phone or a GPU: the host's is
    computed; a phone's or a GPU's is found among the profiles already measured (``known``)."""
    if spec.profile:
        return spec.profile
    if spec.kind == "host":
        return host_profile_id(spec.threads)
    pattern = spec.form().pattern(serial=spec.serial, threads=spec.threads)
    found = [k for k in sorted(known) if pattern.fullmatch(k)]
    if spec.kind == "adb":
        cores = f", {spec.threads} threads" if "threads" in spec.form().fields else ""
        what = f"phone {spec.serial} ({spec.delegate}{cores})"
    else:
        what = f"the GPU ({spec.precision})"
    if len(found) > 1:
        raise LetiError(
            f"several profiles match {what}: {', '.join(found)}", "pass the full profile id"
        )
    if not found:
        raise NoProfile(
            f"no measurements for {what}", f"run 'leti db build {cli_args(spec)}' first"
        )
    return found[0]


def cli_args(spec: DeviceSpec) -> str:
    """The ``--device`` arguments that measure into ``spec``'s profile again, for hints in
    messages: the options its id form depends on, where they are not the defaults."""
    if spec.kind == "phone":  # known from published measurements: only its id names it
        return f"--device {spec.profile}"
    out = f"--device {'adb:' + spec.serial if spec.kind == 'adb' else spec.kind}"
    option, forms = ID_FORMS[spec.kind]
    if option and spec.choice != next(iter(forms)):
        out += f" --{option} {spec.choice}"
    if "threads" in spec.form().fields and spec.threads != 1:
        out += f" --threads {spec.threads}"
    return out


def cli_args_for_id(device_id: str) -> str:
    """The ``--device`` arguments that measure into the profile ``device_id``."""
    try:
        return cli_args(read_id(device_id))
    except LetiError:  # an id of no known form: name it as it is
        return f"--device {device_id}"


def is_published(device_id: str) -> bool:
    """A profile of published measurements: it is imported, never measured here."""
    return device_id.startswith("phone/")
