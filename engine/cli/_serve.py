"""``smslink serve``: run the redirect worker (Granian, RSGI) over a snapshot."""

from __future__ import annotations

import click


@click.command(name="serve")
@click.option("--snapshot", required=True, metavar="PATH",
              help="Snapshot file, `current` pointer, a publish folder holding `current`, or "
                   "s3://bucket/prefix (mirrored locally, followed once a second).")
@click.option("--logs", required=True, metavar="DIR", help="Folder for the click logs (created if missing).")
@click.option("--geoip", metavar="FILE", help="MaxMind-format City .mmdb for geo routing.")
@click.option("--asn", metavar="FILE", help="MaxMind-format ASN .mmdb for the bots' network signal.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--admin-host", default="127.0.0.1", show_default=True,
              help="Address of /healthz, /readyz, /metrics (keep it private).")
@click.option("--admin-port", default=9090, show_default=True, type=click.IntRange(0, 65535),
              help="Port of the admin endpoints; 0 turns them off.")
@click.option("--fallback-url", metavar="URL",
              help="Redirect unknown links here instead of answering a 404 page.")
@click.option("--rotate-mb", default=64, show_default=True, type=click.IntRange(1, 1 << 20),
              help="Rotate a click-log file at this size.")
@click.option("--rotate-seconds", default=3600, show_default=True, type=click.IntRange(1, 1 << 30),
              help="Rotate a click-log file at this age.")
@click.option("--client-ip-header", metavar="NAME",
              help="Behind a trusted load balancer: read the client address from this header "
                   "(its last entry), e.g. X-Forwarded-For.")
@click.option("--task-impl", default="asyncio", show_default=True, type=click.Choice(["asyncio", "rust"]),
              help="Granian's task implementation; rust (Python < 3.12, experimental in Granian) "
                   "saves a few microseconds per request.")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]), help="Granian's own log level.")
def serve(snapshot: str, logs: str, geoip: str | None, asn: str | None, workers: int, host: str,
          port: int, admin_host: str, admin_port: int, fallback_url: str | None, rotate_mb: int,
          rotate_seconds: int, client_ip_header: str | None, task_impl: str, log_level: str) -> None:
    """Run the redirect worker until SIGTERM or Ctrl-C.

    Each worker process opens the snapshot once, read-only, and answers
    GET /<token> with a 302 (or a preview page, 404, 410), writing one click
    line to LOGS before answering. Publishing a new snapshot behind the
    `current` pointer is picked up within a second; a corrupt one is refused
    and the old one keeps serving.
    """
    from engine.worker import ServeError, ServeOptions, run_server

    if fallback_url is not None and not fallback_url.startswith(("https://", "http://")):
        raise click.BadParameter("must be an http(s) URL", param_hint="--fallback-url")
    options = ServeOptions(
        snapshot=snapshot, logs=logs, geoip=geoip, asn=asn, workers=workers, host=host, port=port,
        admin_host=admin_host, admin_port=admin_port or None, fallback_url=fallback_url,
        rotate_bytes=rotate_mb * 1024 * 1024, rotate_seconds=float(rotate_seconds), log_level=log_level,
        client_ip_header=client_ip_header, task_impl=task_impl,
    )
    try:
        code = run_server(options)
    except ServeError as exc:
        raise click.ClickException(str(exc)) from None
    raise SystemExit(code)
