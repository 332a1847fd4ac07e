"""The ``cuda_standalone`` backend: the standalone project generated for NVIDIA GPUs.

brian2cuda 1.0a7 pins an older brian2 but works installed with ``pip install --no-deps
brian2cuda==1.0a7`` beside brian2 2.9.0, given C++17 for nvcc and g++ and the cuRAND headers and
library from the PyPI package ``nvidia-curand`` (``pip install brainconv[gpu]`` installs both
but brian2cuda itself, which needs ``--no-deps``). On a machine without a GPU the project can still
be generated and compiled (``detect_gpus = False`` plus an explicit compute capability), which the
``cuda_compile`` tests do.

The project runs through Brian2 in this process, one binary; its spike monitors are not sorted,
which :func:`brainconv.devices.collect.collect_results` does not need.
"""

import os
import shutil
import subprocess
from pathlib import Path

from ..errors import SimulationError
from . import register_device
from .cpp_standalone import CppStandaloneDevice

__all__ = ["CudaStandaloneDevice", "GPU_SYNAPSE_BUDGET", "configure_cuda", "curand_dir",
           "gpu_available", "gpu_memory_bytes"]

#: Synapses per batch on a GPU: every batch copy's synapse indices are generated in Python and
#: written into the project, so far larger batches spend longer there than on the GPU.
GPU_SYNAPSE_BUDGET = 20_000_000


def curand_dir():
    """Folder with cuRAND's ``include/curand.h`` and its library, or None.

    Looks in the ``nvidia-curand`` wheel (``nvidia/cu13``, ``nvidia/cu12``, ``nvidia/curand``),
    then in the CUDA toolkit of ``$CUDA_PATH`` or of the ``nvcc`` on the PATH.
    """
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


def gpu_memory_bytes():
    """Memory of the first GPU (``nvidia-smi``), or 8 GiB where the query fails."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,"
                              "nounits"], capture_output=True, text=True, check=True).stdout
        return int(out.split()[0]) * 2**20
    except (OSError, subprocess.CalledProcessError, ValueError, IndexError):
        return 8 * 2**30  # a modest GPU when the query fails


class CudaStandaloneDevice(CppStandaloneDevice):
    """brian2cuda's ``cuda_standalone`` device: the standalone project on an NVIDIA GPU.

    Every pathway goes through Brian2's ``Synapses``; the live project of the last layout is
    kept and run through Brian2 (no manifest, one process); batches are as large as a quarter
    of the GPU's memory and :data:`GPU_SYNAPSE_BUDGET` allow.
    """

    name = "cuda_standalone"
    direct_pathways = False
    branchless_thresholds = False
    progress_report = False
    plasticity = False
    per_step_inputs = False  # not yet run on a GPU
    writes_manifest = False
    warm_runs = False

    def check(self):
        """Raise :class:`SimulationError` without brian2cuda or without an NVIDIA GPU."""
        if not gpu_available():
            raise SimulationError(
                "device 'cuda_standalone' needs brian2cuda and an NVIDIA GPU with its driver, "
                "but no GPU was found (nvidia-smi missing or listing none, or brian2cuda not "
                "installed); on this machine use device='cpp_standalone' (compiled C++ on the "
                "CPU), or install brian2cuda as the README's GPU section says")

    def configure(self):
        """:func:`configure_cuda` with the GPU detected by brian2cuda."""
        configure_cuda()

    def memory_bytes(self):
        """A quarter of the GPU's memory."""
        return gpu_memory_bytes() // 4

    def choose_batch_size(self, spec, n_samples, memory_bytes=None):
        """The largest batch whose synapses and neurons fit into ``memory_bytes`` and within
        :data:`GPU_SYNAPSE_BUDGET` synapses; never more than ``n_samples``, never below 1."""
        synapses, fits = self._fits(spec, memory_bytes)
        wanted = min(fits, max(1, GPU_SYNAPSE_BUDGET // max(synapses, 1)))
        return max(1, min(wanted, int(n_samples)))


register_device(CudaStandaloneDevice())
