"""Brian2CUDA set-up: preferences for the ``cuda_standalone`` device.

brian2cuda 1.0a7 pins an older brian2 but works installed with ``pip install --no-deps
brian2cuda==1.0a7`` beside brian2 2.9.0, given C++17 for nvcc and g++ and the cuRAND headers and
library from the PyPI package ``nvidia-curand`` (``pip install brainconv[gpu]`` installs both
but brian2cuda itself, which needs ``--no-deps``). On a machine without a GPU the project can still
be generated and compiled (``detect_gpus = False`` plus an explicit compute capability), which the
``cuda_compile`` tests do.
"""

import os
from pathlib import Path

from .errors import SimulationError


def curand_dir():
    """Folder with cuRAND's ``include/curand.h`` and its library, or None.

    Looks in the ``nvidia-curand`` wheel (``nvidia/cu13``, ``nvidia/cu12``, ``nvidia/curand``),
    then in the CUDA toolkit of ``$CUDA_PATH`` or of the ``nvcc`` on the PATH.
    """
    import shutil

    candidates = []
    try:
        import nvidia

        candidates += [Path(root) / name for root in nvidia.__path__
                       for name in ("cu13", "cu12", "curand")]
    except ImportError:
        pass
    nvcc = shutil.which("nvcc")
    for toolkit in (os.environ.get("CUDA_PATH"), nvcc and Path(nvcc).resolve().parent.parent):
        if toolkit:
            candidates += [Path(toolkit), Path(toolkit) / "targets" / "x86_64-linux"]
    for candidate in candidates:
        if (candidate / "include" / "curand.h").exists() and _curand_library(candidate):
            return candidate
    return None


def _curand_library(folder):
    """Path of ``libcurand.so*`` under ``folder``'s ``lib`` or ``lib64``, or None."""
    for lib in ("lib", "lib64"):
        found = sorted((folder / lib).glob("libcurand.so*"))
        if found:
            return found[0]
    return None


def gpu_available():
    """True when brian2cuda imports and ``nvidia-smi`` lists a GPU."""
    import shutil
    import subprocess

    try:
        import brian2cuda  # noqa: F401
    except ImportError:
        return False
    smi = shutil.which("nvidia-smi")
    if not smi:
        return False
    result = subprocess.run([smi, "-L"], capture_output=True, text=True, check=False)
    return result.returncode == 0 and "GPU" in result.stdout


def _available_gib():
    """Available memory in GiB (Linux), or 4 where /proc/meminfo cannot be read."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 2**20
    except OSError:
        pass
    return 4


def configure_cuda(compute_capability=None, gpu_id=0):
    """Set Brian2 preferences so that ``cuda_standalone`` builds with this toolchain.

    Parameters
    ----------
    compute_capability : float, optional
        Target architecture (9.0 for H100/H200). Given, GPU detection is switched off, so the
        project compiles on a machine without a GPU; omitted, brian2cuda detects the GPU.
    gpu_id : int
        GPU to run on.

    Raises
    ------
    SimulationError
        If brian2cuda or the cuRAND package is missing (the message says how to install them).
    """
    try:
        import brian2cuda  # noqa: F401  (registers the cuda_standalone device)
    except ImportError as exc:
        raise SimulationError(
            "device 'cuda_standalone' needs brian2cuda: pip install --no-deps "
            "brian2cuda==1.0a7 'nvidia-curand>=10.4,<10.5'"
        ) from exc
    from brian2 import prefs

    curand = curand_dir()
    if curand is None:
        raise SimulationError("brian2cuda needs cuRAND: pip install 'nvidia-curand>=10.4,<10.5'")
    # nvcc links with -lcurand, but the wheel ships only libcurand.so.10.
    links = Path(os.environ.get("BRAINCONV_CACHE") or Path.home() / ".cache" / "brainconv")
    links = links / "curand-link"
    links.mkdir(parents=True, exist_ok=True)
    library = _curand_library(curand)
    if (links / "libcurand.so").resolve() != library.resolve():
        temporary = links / f"libcurand.so.{os.getpid()}"  # atomic beside parallel processes
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(library)
        os.replace(temporary, links / "libcurand.so")
    backend = prefs.devices.cuda_standalone.cuda_backend
    if compute_capability is not None:
        backend.detect_gpus = False
        backend.compute_capability = float(compute_capability)
    backend.gpu_id = int(gpu_id)
    for flag in ("-std=c++17", f"-I{curand / 'include'}"):
        if flag not in backend.extra_compile_args_nvcc:
            backend.extra_compile_args_nvcc += [flag]
    if "-std=c++17" not in prefs.codegen.cpp.extra_compile_args_gcc:
        prefs.codegen.cpp.extra_compile_args_gcc += ["-std=c++17"]
    # brian2cuda 1.0a7's reset template declares a shared variable (theta) a second time when
    # the loop-invariant optimisation has also put it in the scalar block (1/theta, -theta).
    prefs.codegen.loop_invariant_optimisations = False
    # Brian2 runs `make -j` without a limit; one nvcc job takes 1-2 GB, so dozens of code
    # objects (an ensemble network has ~40) exhaust the memory. One job per core and 2 GB.
    jobs = max(1, min(os.cpu_count() or 1, _available_gib() // 2))
    prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{jobs}"]
    for pref, value in (("include_dirs", str(curand / "include")), ("library_dirs", str(links)),
                        ("runtime_library_dirs", str(library.parent))):
        if value not in prefs.codegen.cpp[pref]:
            prefs.codegen.cpp[pref] = prefs.codegen.cpp[pref] + [value]
