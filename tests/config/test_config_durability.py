"""The user config survives kill -9 in the middle of writes: always valid JSON holding the last acknowledged value."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from config_testkit import REPO

from module.config.loader import load_config

WRITER = textwrap.dedent(
    """
    import sys
    from module.config.loader import load_config
    cfg = load_config(sys.argv[1], sys.argv[2], number_of_connectors=1)
    value = cfg.get("HeartbeatInterval")
    while True:
        value += 1
        assert cfg.change_configuration("HeartbeatInterval", str(value)) == "Accepted"
        print(value, flush=True)
    """
)


@pytest.mark.parametrize("acknowledged_before_kill", [1, 7, 60])
def test_kill_9_during_writes_leaves_a_valid_user_config(base_copy, user_path, acknowledged_before_kill):
    load_config(base_copy, user_path, number_of_connectors=1)  # creates the user config
    env = dict(os.environ, PYTHONPATH=str(REPO))
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(base_copy), str(user_path)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, text=True,
    )
    try:
        for _ in range(acknowledged_before_kill):
            last_acknowledged = int(writer.stdout.readline())
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.stdout.close()
    document = json.loads(user_path.read_text())
    stored = document["Core"]["HeartbeatInterval"]
    assert last_acknowledged <= stored
    cfg = load_config(base_copy, user_path, number_of_connectors=1)
    assert cfg.get("HeartbeatInterval") == stored
    assert [path.name for path in user_path.parent.iterdir()] == [user_path.name]
