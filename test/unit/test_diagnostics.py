"""The health reports behind /diagnostics: when the sim and the agent say OK, WARN or ERROR."""

from spacetools_ros.core.diagnostics import ERROR, OK, WARN, agent_health, sim_health

SIM = dict(running=True, measured=True, rtf=1.0, rtf_target=1.0, camera_hz=5.0, camera_hz_target=5.0, sim_time_s=3.0)


def test_the_sim_is_ok_at_its_rates_and_says_why_when_not():
    assert sim_health(**SIM).level == OK
    slow = sim_health(**{**SIM, "rtf": 0.5, "camera_hz": 2.5})
    assert slow.level == WARN and "real-time factor 0.50" in slow.message and "camera at 2.5 Hz" in slow.message
    camera = sim_health(**{**SIM, "camera_hz": 3.0})
    assert camera.level == WARN and "real-time" not in camera.message
    assert sim_health(**{**SIM, "running": False}).level == ERROR
    assert sim_health(**{**SIM, "measured": False, "rtf": 0.0, "camera_hz": 0.0}).level == OK  # starting
    values = dict(sim_health(**SIM).values)
    assert values["real_time_factor"] == "1" and values["camera_rate_hz_expected"] == "5"


def test_as_fast_as_possible_judges_the_camera_against_the_speed_reached():
    fast = {**SIM, "rtf_target": 0.0, "rtf": 20.0}
    assert sim_health(**{**fast, "camera_hz": 100.0}).level == OK
    assert sim_health(**{**fast, "camera_hz": 40.0}).level == WARN  # 5 Hz of sim time at 20x is 100 Hz


AGENT = dict(alive=True, busy=False, command=None, last=None, policy="scripted", world="embedded", commands_run=0,
             commands_succeeded=0)


def test_the_agent_levels_follow_the_last_outcome():
    assert agent_health(**AGENT).level == OK and agent_health(**AGENT).message == "idle"
    busy = agent_health(**{**AGENT, "busy": True, "command": "put the red block in the bowl"})
    assert busy.level == OK and busy.message.startswith("busy: put the red block")
    assert dict(busy.values)["state"] == "busy"
    cases = {"task_failed": WARN, "not_verified": WARN, "timeout": WARN, "robot_unavailable": ERROR,
             "internal_error": ERROR, "policy_error": ERROR, "ambiguous": OK, "cancelled": OK, "not_found": OK}
    for reason, level in cases.items():
        report = agent_health(**{**AGENT, "last": {"command": "c", "success": False, "reason": reason},
                                 "commands_run": 1})
        assert report.level == level, reason
        assert reason in report.message and dict(report.values)["last_reason"] == reason
    done = agent_health(**{**AGENT, "last": {"command": "c", "success": True, "reason": None}, "commands_run": 2,
                           "commands_succeeded": 1})
    assert done.level == OK and dict(done.values)["last_success"] == "True" and dict(done.values)["commands_run"] == "2"
    assert agent_health(**{**AGENT, "alive": False}).level == ERROR


def test_values_stay_short():
    long = agent_health(**{**AGENT, "busy": True, "command": "x" * 5000})
    assert all(len(v) <= 200 for _, v in long.values) and len(long.message) < 300
