"""SFTP transport (paramiko): polling a partner's directory in, uploading files out.

See ``gateway/transports/sftp/README.md`` for the configuration keys and guarantees.
"""

from gateway.transports.sftp.connection import UnknownHostKeyError
from gateway.transports.sftp.options import InboundOptions, OutboundOptions
from gateway.transports.sftp.poller import PollReport, SftpPoller
from gateway.transports.sftp.upload import SftpOut

__all__ = ["InboundOptions", "OutboundOptions", "PollReport", "SftpOut", "SftpPoller", "UnknownHostKeyError"]
