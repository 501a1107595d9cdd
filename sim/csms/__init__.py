"""A local OCPP 1.6J CSMS on the `ocpp` package: the peer of the demo and of the end-to-end tests."""

from sim.csms.records import Record
from sim.csms.replies import NO_REPLY, CallErrorReply, CsmsCallError
from sim.csms.server import LocalCsms
from sim.csms.state import ChargePointState, Transaction

__all__ = [
    "NO_REPLY",
    "CallErrorReply",
    "ChargePointState",
    "CsmsCallError",
    "LocalCsms",
    "Record",
    "Transaction",
]
