"""What the CSMS knows about each charge point, derived from the request/response pairs it answered."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Transaction:
    """One transaction as the CSMS saw it; meter_values holds the meterValue entries of MeterValues.req."""

    transaction_id: int
    connector_id: int
    id_tag: str
    meter_start: int
    start_timestamp: str
    reservation_id: int | None = None
    meter_values: list[dict[str, Any]] = field(default_factory=list)
    meter_stop: int | None = None
    stop_timestamp: str | None = None
    stop_id_tag: str | None = None
    reason: str | None = None
    transaction_data: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stopped(self) -> bool:
        return self.meter_stop is not None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "stopped": self.stopped}


@dataclass
class ChargePointState:
    """Per charge point id; survives reconnects of the same id."""

    cp_id: str
    connected: bool = False
    boot: dict[str, Any] | None = None
    registration_status: str | None = None
    statuses: dict[int, dict[str, Any]] = field(default_factory=dict)
    transactions: dict[int, Transaction] = field(default_factory=dict)
    meter_values_outside_transactions: list[dict[str, Any]] = field(default_factory=list)

    def apply(self, action: str, request: dict[str, Any], response: dict[str, Any]) -> None:
        """Update the state once the CSMS has answered a charge point's request with a CALLRESULT."""
        if action == "BootNotification":
            self.boot = request
            self.registration_status = response.get("status")
        elif action == "StatusNotification":
            self.statuses[request["connectorId"]] = request
        elif action == "StartTransaction" and "transactionId" in response:
            tx_id = response["transactionId"]
            self.transactions[tx_id] = Transaction(
                transaction_id=tx_id,
                connector_id=request["connectorId"],
                id_tag=request["idTag"],
                meter_start=request["meterStart"],
                start_timestamp=request["timestamp"],
                reservation_id=request.get("reservationId"),
            )
        elif action == "MeterValues":
            tx = self.transactions.get(request.get("transactionId", -1))
            target = tx.meter_values if tx else self.meter_values_outside_transactions
            target.extend(request.get("meterValue", []))
        elif action == "StopTransaction":
            self._stop(request)

    def _stop(self, request: dict[str, Any]) -> None:
        tx_id = request["transactionId"]
        tx = self.transactions.get(tx_id)
        if tx is None:  # started before this CSMS knew the charge point (e.g. a CSMS restart)
            tx = Transaction(tx_id, 0, request.get("idTag", ""), 0, "")
            self.transactions[tx_id] = tx
        tx.meter_stop = request["meterStop"]
        tx.stop_timestamp = request["timestamp"]
        tx.stop_id_tag = request.get("idTag")
        tx.reason = request.get("reason", "Local")  # OCPP 1.6: an absent reason means Local
        tx.transaction_data = request.get("transactionData", [])

    def to_json(self) -> dict[str, Any]:
        return {
            "cp_id": self.cp_id,
            "connected": self.connected,
            "registration_status": self.registration_status,
            "statuses": {str(k): v.get("status") for k, v in sorted(self.statuses.items())},
            "transactions": [tx.to_json() for tx in self.transactions.values()],
        }
