"""`exposure-batch serve`: the local edit service for the Lightroom Classic and darktable plugins."""
from __future__ import annotations

import os
import sys

import click


#: Seconds an idle keep-alive connection stays open (uvicorn's timeout_keep_alive).
KEEP_ALIVE_S = 5


def _size(text: str) -> int:
    from ..engine import parse_size  # noqa: PLC0415

    value = parse_size(text)
    if not value:
        raise click.BadParameter(f"{text!r}: give a size such as 1M or 200M")
    return value


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but a loopback address needs --allow-remote.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option("--root", "roots", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Folder whose photos (and sub-folders) requests may name; repeat for several. Without it only "
                   "uploads are accepted.")
@click.option("--token-file", type=click.Path(dir_okay=False),
              help="File holding the bearer token [default: a random token created on first start in the user's "
                   "config folder, mode 0600].")
@click.option("--agent", type=click.Choice(["learned", "classic"]), default="learned", show_default=True,
              help="Recipe source when a request names none (kept loaded and warm).")
@click.option("--model", "model_path", type=click.Path(exists=True, file_okay=False),
              help="Learned agent's model folder [default: the shipped models/auto].")
@click.option("--profiles", "profiles_dir", type=click.Path(exists=True, file_okay=False),
              help="Folder of studio profiles (sub-folders made by `exposure-batch learn`) and saved looks "
                   "(NAME.recipe.json) that requests pick with \"profile\": \"NAME\".")
@click.option("-j", "--workers", type=click.IntRange(1, 64), default=None,
              help="Isolated worker processes for decoding and rendering [default: cores // 2, at least 1].")
@click.option("--timeout", type=click.FloatRange(0), default=600.0, show_default=True,
              help="Seconds one photo may take in a worker before the worker is killed (0: no limit).")
@click.option("--memory-limit", default="auto", show_default=True,
              help="Address-space cap per worker, e.g. 4G (auto: 80 percent of RAM / workers; 0: none).")
@click.option("--max-request", default="1M", show_default=True, help="Largest JSON request body.")
@click.option("--max-upload", default="200M", show_default=True, help="Largest multipart upload.")
@click.option("--allow-remote", is_flag=True,
              help="Allow binding a non-loopback address (other machines can then reach the service; the token is "
                   "the only protection and travels in clear text without a TLS proxy).")
@click.option("--allow-host", "extra_hosts", multiple=True,
              help="Extra host name accepted in the Host header (e.g. this machine's name for remote clients).")
@click.option("--header-timeout", type=click.FloatRange(0.1), default=10.0, show_default=True, metavar="SECONDS",
              help="Close a connection whose request line and headers are not complete in this time, or whose "
                   "request body stops arriving for this long (slow or stuck clients); idle keep-alive connections "
                   "close after 5 s.")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info",
              show_default=True)
def serve(host, port, roots, token_file, agent, model_path, profiles_dir, workers, timeout, memory_limit,
          max_request, max_upload, allow_remote, extra_hosts, log_level, header_timeout=10.0) -> None:
    """Run the local edit service that the Lightroom Classic and darktable plugins call.

    Requests need the token from the token file (Authorization: Bearer TOKEN); paths must lie under a --root
    folder. The OpenAPI description is at http://HOST:PORT/docs.
    """
    import uvicorn  # noqa: PLC0415

    from ..errors import ExposureBatchError  # noqa: PLC0415
    from ..service import security  # noqa: PLC0415
    from ..service.app import ServiceConfig, create_app  # noqa: PLC0415
    from ..service.decider import Decider, profiles_from_dir  # noqa: PLC0415
    from ..sources import SourceSpec  # noqa: PLC0415
    from .options import memory_cap  # noqa: PLC0415

    if not security.is_loopback(host):
        if not allow_remote:
            raise click.UsageError(f"--host {host} is not a loopback address: add --allow-remote to serve other "
                                   "machines")
        click.echo(f"WARNING: serving on {host}: every machine that can reach this address and has the token can "
                   "edit photos under the --root folders; use a TLS proxy on untrusted networks.", err=True)
    try:
        token, token_path = security.load_or_create_token(token_file)
    except (OSError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    workers = workers or max(1, (os.cpu_count() or 1) // 2)
    hosts = ["127.0.0.1", "localhost", "::1", *extra_hosts]
    if not security.is_loopback(host) and host not in ("0.0.0.0", "::"):
        hosts.append(host)
    cfg = ServiceConfig(
        token=token, roots=list(roots), hosts=hosts, agent=agent, model_path=model_path,
        profiles=profiles_from_dir(profiles_dir), workers=workers, timeout=timeout or None,
        memory_limit=memory_cap(memory_limit, workers, SourceSpec(agent, None, model_path)),
        max_body=_size(max_request), max_upload=_size(max_upload), job_in_flight=max(2, 2 * workers),
    )
    decider = Decider(cfg.agent, cfg.model_path, cfg.profiles)
    try:  # load the agent now: a bad model folder is a one-line error, not a start-up traceback
        decider.source(decider.choose(None, None))
    except ExposureBatchError as err:
        raise click.ClickException(f"cannot load the {agent} agent: {' '.join(str(err).split())}") from err
    if not roots:
        click.echo("note: no --root given: requests naming paths are refused (403), uploads work", err=True)
    click.echo(f"exposure-batch serve: http://{host}:{port} (token file {token_path}, {workers} worker(s), "
               f"roots: {', '.join(os.path.realpath(r) for r in roots) or 'none'})", err=True)
    sys.stdout.flush()
    from ..service.protocol import protocol_class  # noqa: PLC0415

    uvicorn.run(create_app(cfg, decider=decider), host=host, port=port, log_level=log_level, server_header=False,
                proxy_headers=False, access_log=log_level == "debug", timeout_graceful_shutdown=10,
                http=protocol_class(header_timeout), timeout_keep_alive=KEEP_ALIVE_S)
