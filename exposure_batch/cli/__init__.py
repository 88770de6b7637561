"""`exposure-batch` command line. Each command lives in its own module; none imports TensorFlow at import time."""
from __future__ import annotations

import logging

import click

from .. import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="exposure-batch")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """White-box automatic photo editing (Exposure, Hu et al. 2018) for whole shoots.

    Every edit is a short recipe of global filters (exposure, gamma, white balance, saturation, tone curve,
    contrast, black & white, colour curves) applied to linear ProPhoto RGB at full resolution.
    """
    logging.basicConfig(level=logging.WARNING - 10 * min(verbose, 2), format="%(levelname)s %(name)s: %(message)s")


from . import info as _info  # noqa: E402
from . import process as _process  # noqa: E402

main.add_command(_process.process)
main.add_command(_info.info)
from . import explain as _explain  # noqa: E402

main.add_command(_explain.explain)
from . import status as _status  # noqa: E402
from . import watch as _watch  # noqa: E402

main.add_command(_watch.watch)
main.add_command(_status.status)
from . import train as _train  # noqa: E402

main.add_command(_train.train)
from . import train_capture as _train_capture  # noqa: E402

main.add_command(_train_capture.train_capture)
from . import evaluate as _evaluate  # noqa: E402

main.add_command(_evaluate.evaluate)
from . import export as _export  # noqa: E402

main.add_command(_export.export_look)
from . import serve as _serve  # noqa: E402

main.add_command(_serve.serve)
from . import learn as _learn  # noqa: E402

main.add_command(_learn.learn)
