"""A standalone module in raw paho and the spec's envelopes only (no framework code): module id `raw`.

It asks for its config, serves `echo` of impl `main`, signals ready, and on GlobalReady calls `echo` of module
`probe` once, printing `CONFIG <json>` and `RESULT <json>` lines on stdout. argv: host port.
"""

from __future__ import annotations

import json
import sys
import threading
import uuid

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

P = "everest/"
ME = "raw"


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    client = paho.Client(CallbackAPIVersion.VERSION2)
    call_id = str(uuid.uuid4())
    done = threading.Event()

    def send(topic: str, msg_type: str, data: object) -> None:
        client.publish(topic, json.dumps({"msg_type": msg_type, "data": data}), qos=2)

    def on_connect(c: paho.Client, *args: object) -> None:
        for topic in (f"{P}modules/{ME}/response", f"{P}ready", f"{P}modules/{ME}/impl/main/cmd/echo",
                      f"{P}modules/probe/impl/main/cmd/echo/response/{ME}"):
            c.subscribe(topic, 2)
        send(f"{P}config/request", "GetConfig", {"type": "Get", "origin": ME, "request": {"type": "Module"}})

    def on_message(c: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        body = json.loads(message.payload)
        if message.topic == f"{P}modules/{ME}/response":
            print("CONFIG", json.dumps(body), flush=True)
            send(f"{P}modules/{ME}/ready", "ModuleReady", True)
        elif message.topic == f"{P}ready" and body["data"] is True:
            send(f"{P}modules/probe/impl/main/cmd/echo", "Cmd",
                 {"id": call_id, "args": {"value": "from-raw"}, "origin": ME})
        elif message.topic.endswith(f"/response/{ME}"):
            if body["data"]["data"]["id"] == call_id:
                print("RESULT", json.dumps(body), flush=True)
        elif message.topic.endswith("/cmd/echo"):
            call = body["data"]
            send(f"{P}modules/{ME}/impl/main/cmd/echo/response/{call['origin']}", "CmdResult",
                 {"type": "result", "data": {"id": call["id"], "retval": "raw:" + call["args"]["value"],
                                             "origin": ME}})

    client.on_connect = on_connect
    client.on_message = on_message
    client.connect(host, port)
    client.loop_start()
    done.wait()


if __name__ == "__main__":
    main()
