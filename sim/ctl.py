"""Driver CLI for the simulated charger: `python -m sim.ctl plug 1`, `swipe 1 RFID_VALID1`, `unplug 1`, `csms ...`.

Car and token commands go over the system's external MQTT, on the topics EVerest's tests use. The broker comes
from --host/--port/--external-prefix, else from the EV_MQTT_* environment, else from <state-dir>/broker.json
({"host", "port", "external_prefix"}, written by the demo), else localhost:1883.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

STATE_DIR_ENV = "SIM_STATE_DIR"
DEFAULT_STATE_DIR = ".sim-state"
BROKER_FILE = "broker.json"
TOKEN_TOPIC = "everest_api/dummy_token_provider/cmd/provide"
DEFAULT_PLUG_SCRIPT = "iec_wait_pwr_ready;sleep 1;draw_power_regulated 16,3"


def carsim_topic(evse: int, command: str) -> str:
    return f"everest_external/nodered/{evse}/carsim/cmd/{command}"


def token_message(value: str, evse: int | None, token_type: str, authorization_type: str) -> dict[str, Any]:
    """A ProvidedIdToken as EVerest's test controller sends it for an RFID swipe."""
    token: dict[str, Any] = {"id_token": {"value": value, "type": token_type},
                             "authorization_type": authorization_type}
    if evse:
        token["connectors"] = [evse]
    return token


def broker_settings(args: argparse.Namespace) -> tuple[str, int, str]:
    state_dir = Path(args.state_dir or os.environ.get(STATE_DIR_ENV, DEFAULT_STATE_DIR))
    saved: dict[str, Any] = {}
    if (state_dir / BROKER_FILE).exists():
        saved = json.loads((state_dir / BROKER_FILE).read_text())
    host = args.host or os.environ.get("EV_MQTT_BROKER_HOST") or saved.get("host") or "localhost"
    port = int(args.port or os.environ.get("EV_MQTT_BROKER_PORT") or saved.get("port") or 1883)
    prefix = args.external_prefix
    if prefix is None:
        prefix = os.environ.get("EV_MQTT_EXTERNAL_PREFIX", saved.get("external_prefix", ""))
    return host, port, prefix


def publish(args: argparse.Namespace, topic: str, payload: str) -> int:
    """One QoS 1 message, acknowledged by the broker before we exit."""
    host, port, prefix = broker_settings(args)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    try:
        client.connect(host, port)
    except OSError as exc:
        print(f"cannot reach the MQTT broker at {host}:{port}: {exc}", file=sys.stderr)
        return 2
    client.loop_start()
    try:
        info = client.publish(prefix + topic, payload, qos=1)
        info.wait_for_publish(timeout=10)
        if not info.is_published():
            print(f"the broker at {host}:{port} did not acknowledge the message", file=sys.stderr)
            return 1
    finally:
        client.disconnect()
        client.loop_stop()
    print(f"{prefix + topic} <- {payload}")
    return 0


def car(command: str, script: str | None = None):
    def run(args: argparse.Namespace) -> int:
        return publish(args, carsim_topic(args.evse, command), script or args.script)
    return run


def swipe(args: argparse.Namespace) -> int:
    token = token_message(args.token, args.evse, args.type, args.authorization_type)
    return publish(args, args.topic, json.dumps(token))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sim.ctl", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=None, help="MQTT broker host")
    parser.add_argument("--port", type=int, default=None, help="MQTT broker port")
    parser.add_argument("--external-prefix", default=None, help="external MQTT prefix of the running system")
    parser.add_argument("--state-dir", default=None, help=f"where the demo wrote {BROKER_FILE}")
    commands = parser.add_subparsers(dest="command", required=True)

    def evse_command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("evse", type=int, help="EVSE number (the car simulator's connector number)")
        return sub

    plug = evse_command("plug", "plug a car in; it charges once authorized")
    plug.add_argument("--script", default=DEFAULT_PLUG_SCRIPT, help="car script run at plug-in")
    plug.set_defaults(run=car("execute_charging_session"))
    evse_command("unplug", "unplug the car").set_defaults(run=car("modify_charging_session", "unplug"))
    evse_command("pause", "the car stops drawing power").set_defaults(run=car("modify_charging_session", "pause"))
    evse_command("resume", "the car draws power again").set_defaults(
        run=car("modify_charging_session", "resume"))
    session = evse_command("session", "run a car simulator script, e.g. \"sleep 1;iec_wait_pwr_ready;...\"")
    session.add_argument("script")
    session.set_defaults(run=car("execute_charging_session"))
    modify = evse_command("modify", "replace the running car script")
    modify.add_argument("script")
    modify.set_defaults(run=car("modify_charging_session"))

    token = commands.add_parser("swipe", help="present an RFID token (at an EVSE, or 0 for any)")
    token.add_argument("evse", type=int)
    token.add_argument("token")
    token.add_argument("--type", default="ISO14443", help="IdTokenType")
    token.add_argument("--authorization-type", default="RFID")
    token.add_argument("--topic", default=TOKEN_TOPIC, help="the token provider's topic")
    token.set_defaults(run=swipe)

    try:
        from sim.csms.control import add_cli
    except ImportError:
        add_cli = None
    if add_cli is not None:
        add_cli(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
