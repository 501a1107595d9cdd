import socket

from framework.broker import PrivateBroker


def test_private_broker_accepts_and_restarts_on_same_port(broker: PrivateBroker):
    with socket.create_connection((broker.host, broker.port), timeout=1):
        pass
    port = broker.port
    broker.kill()
    assert not broker.running
    broker.restart()
    assert broker.port == port
    with socket.create_connection((broker.host, broker.port), timeout=1):
        pass
