"""Inbound pollers for the one-process gateway: one thread per inbound endpoint that must be polled.

A file-drop poller takes complete files (old enough, or with a ``.done`` marker), stores each with
:func:`~gateway.pipeline.intake.receive` and only then moves it to the ``processed`` folder (the
acknowledgement). A crash between the two leaves the file in place: the next poll stores it again, which
``receive`` recognises as a duplicate.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.logging_setup import get_logger
from gateway.pipeline.endpoints import Endpoint
from gateway.pipeline.intake import Envelope, receive

if TYPE_CHECKING:
    from gateway.runtime import Gateway

log = get_logger("gateway.pollers")


def poll_file_drop(gateway: Gateway, endpoint: Endpoint) -> int:
    """One pass over a file-drop directory; returns how many new exchanges were stored."""
    from gateway.transports.file_drop import ready_files

    options = endpoint.transport.options
    directory = Path(options["directory"])
    processed = Path(options.get("processed_directory") or directory / "processed")
    taken = 0
    for dropped in ready_files(
        directory,
        pattern=str(options.get("pattern", "*")),
        min_age_seconds=float(options.get("min_age_seconds", 2.0)),
        done_marker=bool(options.get("done_marker", False)),
    ):
        with dropped.path.open("rb") as payload:  # streamed: a large file is never held whole
            envelope = Envelope(
                endpoint.name, endpoint.partner, "file-drop", payload, source_name=dropped.path.name
            )
            receipt = receive(gateway.engine, envelope)
        processed.mkdir(parents=True, exist_ok=True)
        os.replace(dropped.path, processed / dropped.path.name)
        marker = dropped.path.with_name(dropped.path.name + ".done")
        if marker.exists():
            marker.unlink()
        taken += 0 if receipt.duplicate else 1
        log.info(
            "file_drop.taken", endpoint=endpoint.name, file=dropped.path.name, duplicate=receipt.duplicate
        )
    return taken


def _loop(gateway: Gateway, endpoint: Endpoint, stop: threading.Event) -> None:
    """Poll a file-drop directory until ``stop`` is set."""
    while not stop.is_set():
        try:
            poll_file_drop(gateway, endpoint)
        except Exception:  # a bad file system moment must not kill the poller
            log.exception("poller.error", endpoint=endpoint.name)
        stop.wait(endpoint.poll_seconds)


def start_pollers(gateway: Gateway, stop: threading.Event) -> list[threading.Thread]:
    """One thread per inbound endpoint that the gateway fetches from (file drop, SFTP, AMQP queue).

    HTTP and SOAP inbound endpoints are served by the API instead. SFTP pollers take a per-endpoint
    lease, so that with several nodes only one polls a given partner directory at a time.
    """
    threads = []
    for endpoint in gateway.endpoints.inbound():
        kind = endpoint.transport.type
        if kind == "file-drop":
            target: Callable[[threading.Event], None] = partial(_loop, gateway, endpoint)
        elif kind == "sftp":
            from gateway.transports.sftp import SftpPoller

            target = SftpPoller(gateway.engine, endpoint).run
        elif kind == "amqp":
            from gateway.transports.amqp.consumer import AmqpConsumer

            target = AmqpConsumer(gateway.engine, endpoint).run
        else:
            continue
        threads.append(threading.Thread(target=target, args=(stop,), name=f"in:{endpoint.name}", daemon=True))
    return threads
