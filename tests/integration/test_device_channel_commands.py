"""The three commands together: credentials for a broker, the simulator command's hubs on it,
and the gateway command stopping cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from smarthome.sync import broker
from tests.integration.device_channel import (
    GATEWAY_PASSWORD,
    ROOT,
    SECRET,
    Mosquitto,
    cloud_new,
    gateway_new,
    running_gateway,
    wait_until,
)

pytestmark = pytest.mark.integration


def manage(*args: str, url: str) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "myspacecore.settings.test", "SMARTHOME_MQTT_URL": url}
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_simulator_command_hubs_apply_and_report_through_the_broker(tmp_path):
    hubs = broker.provisioning_new(hubs=5, secret=SECRET)
    provisioning = tmp_path / "hubs.json"
    provisioning.write_text(broker.provisioning_dump(hubs))
    mosquitto = Mosquitto(tmp_path / "broker", hubs=hubs)
    mosquitto.start()
    cloud = cloud_new(mosquitto, hubs)
    simulator = manage(
        "device_hub_simulator",
        "--provisioning",
        str(provisioning),
        "--threads",
        "1",
        "--duplicate",
        "0.5",
        "--seed",
        "3",
        url=mosquitto.url(password="unused-by-hubs"),
    )
    try:
        with running_gateway(gateway_new(mosquitto, cloud)):
            wait_until(lambda: not cloud.unconfirmed(), timeout=30, what="every simulated hub's first report")
            for hub in hubs:
                cloud.change(device=hub.devices[1].channel_id, pins=[("p1", "3141")])
            wait_until(lambda: not cloud.unconfirmed(), timeout=20, what="every lock's PIN confirmed")
        simulator.send_signal(signal.SIGTERM)
        output, _ = simulator.communicate(timeout=20)
    finally:
        if simulator.poll() is None:
            simulator.kill()
        mosquitto.stop()
    assert simulator.returncode == 0, output
    assert "5 simulated hub(s) connected." in output and "Stopped:" in output
    assert all(cloud.reported[h.devices[1].channel_id].pins[0].status == "set" for h in hubs)


def test_gateway_command_stops_cleanly_on_sigterm(tmp_path):
    mosquitto = Mosquitto(tmp_path / "broker", hubs=[])
    mosquitto.start()
    gateway = manage(
        "device_gateway",
        "--client-id",
        "msc-gateway-command",
        url=mosquitto.url(broker.GATEWAY_USERNAME, GATEWAY_PASSWORD),
    )
    try:
        wait_until(
            lambda: (
                "msc-gateway-command" in (tmp_path / "broker" / "mosquitto.log").read_text()
                and "SUBSCRIBE" in (tmp_path / "broker" / "mosquitto.log").read_text()
            ),
            timeout=20,
            what="the gateway's subscription",
        )
        time.sleep(0.2)
        gateway.send_signal(signal.SIGTERM)
        output, _ = gateway.communicate(timeout=10)
    finally:
        if gateway.poll() is None:
            gateway.kill()
        mosquitto.stop()
    assert gateway.returncode == 0
    assert "stopped: no messages" in output
