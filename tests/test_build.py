"""What the compiler kept of the kernels where no result can show it."""
import platform
import shutil
import subprocess

import pytest

from laplace_fast import _glm_kernels as K


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64")
                    or shutil.which("objdump") is None,
                    reason="disassembles an x86-64 build with objdump")
def test_the_batch_loop_keeps_its_prefetch_of_the_next_problem():
    # GCC counts a prefetch as free of side effects, so a function of prefetches alone
    # is "const" to it and its calls dead code (lf_glm_prefetch_rows, src/glm/glm_batch.h).  A batch
    # without the prefetch gives the same results ~10 % slower on one thread (W1): only
    # the code shows it.
    asm = subprocess.run(["objdump", "-d", "--no-show-raw-insn", K.__file__],
                         capture_output=True, text=True, check=True).stdout
    assert "prefetcht1" in asm
