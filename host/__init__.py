"""Host side of the ec-hw link: transports and the :class:`~host.device.Device` client.

The trainer adapts a :class:`~host.device.Device` in :mod:`ec_hw.train.device_backend`; this
package does not import the trainer (imports flow train -> host).

The wire protocol itself is defined once, in :mod:`ec_hw.protocol`, and shared with the
gateware.
"""

from .device import ConfigMismatch, Device, DeviceError, LinkError, LinkTimeout, ProtocolError
from .transport import SerialTransport, Transport, XdmaTransport, open_transport

__all__ = ["Device", "LinkError", "LinkTimeout", "ProtocolError", "DeviceError",
           "ConfigMismatch", "Transport", "SerialTransport", "XdmaTransport", "open_transport"]
