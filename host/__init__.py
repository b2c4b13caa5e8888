"""Host side of the ec-hw link: transports, the :class:`~host.device.Device` client and the
trainer's :class:`~host.backend.DeviceBackend`.

The wire protocol itself is defined once, in :mod:`ec_hw.protocol`, and shared with the
gateware.
"""

from .device import ConfigMismatch, Device, DeviceError, LinkError, LinkTimeout, ProtocolError
from .transport import SerialTransport, Transport, XdmaTransport, open_transport

__all__ = ["Device", "LinkError", "LinkTimeout", "ProtocolError", "DeviceError",
           "ConfigMismatch", "Transport", "SerialTransport", "XdmaTransport", "open_transport"]
