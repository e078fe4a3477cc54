# The history of the throwaway LAVA 2023.01 lab that tools/lava-2023-dump makes: run by
# `lava-server manage shell` inside the chroot, after the lab's configuration was made with
# LAVA's own `lava-server manage` commands. Jobs go through LAVA's own code as far as it goes
# without a dispatcher: submitted with TestJob.from_yaml_and_user, a health check made by the
# scheduler's schedule_health_check, scheduled and started with the models' state moves, and
# their logs and ends posted to the internal API a lava-worker talks to (the views write
# output.yaml, output.idx and description.yaml and file the `results` lines as test cases).
# Written for lava-rs's import tests; prints the ids it made.

import datetime

from django.contrib.auth.models import Group, User
from django.test import Client
from lava_common.log import dump
from lava_scheduler_app.models import Device, JobFailureTag, TestJob, Worker
from lava_scheduler_app.scheduler import schedule_health_check

ann = User.objects.get(username="ann")
bob = User.objects.get(username="bob")
client = Client(HTTP_HOST="localhost")

for worker in Worker.objects.all():
    if worker.health == Worker.HEALTH_ACTIVE:
        worker.go_state_online()
        worker.save()

SMOKE = """job_name: smoke on qemu
device_type: qemu
visibility: public
priority: medium
tags: [fast]
timeouts:
  job: {minutes: 10}
  action: {minutes: 5}
context:
  arch: amd64
actions:
- deploy:
    to: tmpfs
    images:
      rootfs:
        url: https://images.example.org/rootfs.img.gz
        image_arg: -drive format=raw,file={rootfs}
        compression: gz
- boot:
    method: qemu
    media: tmpfs
    prompts: ['root@debian:~#']
- test:
    definitions:
    - repository: https://git.example.org/smoke.git
      from: git
      path: smoke.yaml
      name: smoke
"""

PRIVATE = SMOKE.replace("job_name: smoke on qemu", "job_name: private smoke").replace(
    "visibility: public", "visibility:\n  group: [lab-admins]"
)
QUEUED = SMOKE.replace("job_name: smoke on qemu", "job_name: still queued")


def line(lvl, msg, dt):
    return "- " + dump({"dt": dt.isoformat(), "lvl": lvl, "msg": msg})


def run(job, device, lines, result, errors=None):
    """Schedules `job` on `device`, starts it, posts its log and its end."""
    job.refresh_from_db()
    device.refresh_from_db()
    if job.state == TestJob.STATE_SUBMITTED:
        job.go_state_scheduled(device)
        job.save()
    headers = {"HTTP_LAVA_TOKEN": job.token}
    r = client.get(f"/scheduler/internal/v1/jobs/{job.id}/", **headers)
    assert r.status_code == 200, r.content
    r = client.post(
        f"/scheduler/internal/v1/jobs/{job.id}/", {"state": "Running"}, **headers
    )
    assert r.status_code == 200, r.content
    r = client.post(
        f"/scheduler/internal/v1/jobs/{job.id}/logs/",
        {"lines": "\n".join(lines), "index": 0},
        **headers,
    )
    assert r.status_code == 200, r.content
    end = {
        "state": "Finished",
        "result": result,
        "description": "job:\n  name: %s\n" % job.description,
    }
    if errors:
        end["errors"] = errors
        end["error_type"] = "Infrastructure"
    r = client.post(f"/scheduler/internal/v1/jobs/{job.id}/", end, **headers)
    assert r.status_code == 200, r.content
    job.refresh_from_db()
    return job


def log(start, cases, fail_at=None):
    dt = start
    out = []

    def put(lvl, msg):
        nonlocal dt
        dt += datetime.timedelta(milliseconds=250)
        out.append(line(lvl, msg, dt))

    put("info", "lava-dispatcher, installed at version: 2023.01")
    put("info", "start: 0 validate")
    put("debug", "Validating deploy action: tmpfs")
    put("info", "start: 1 deployimages (timeout 00:05:00) [common]")
    put("target", "Linux version 6.1.0-9-amd64 (debian-kernel@lists.debian.org)")
    put("target", "r\u00e9sum\u00e9 \u2713 non-ASCII console output")
    put("input", "root\n")
    for case in cases:
        put("results", case)
    if fail_at:
        put("error", fail_at)
        put(
            "results",
            {
                "case": "job",
                "definition": "lava",
                "result": "fail",
                "error_msg": fail_at,
                "error_type": "Infrastructure",
            },
        )
    else:
        put("results", {"case": "job", "definition": "lava", "result": "pass"})
    put("info", "Job finished")
    return out


qemu01 = Device.objects.get(hostname="qemu01")
qemu02 = Device.objects.get(hostname="qemu02")
start = datetime.datetime(2023, 2, 1, 10, 0, 5)

smoke = TestJob.from_yaml_and_user(SMOKE, ann)
smoke = run(
    smoke,
    qemu01,
    log(
        start,
        [
            {"case": "http-download", "definition": "lava", "result": "pass",
             "duration": "1.25", "level": "1.1.1", "namespace": "common"},
            {"case": "linux-linaro-ubuntu-pwd", "definition": "0_smoke", "result": "pass"},
            {"case": "ping", "definition": "0_smoke", "result": "fail",
             "measurement": 12.5, "units": "ms", "set": "network"},
            {"case": "dmesg", "definition": "0_smoke", "result": "skip"},
        ],
    ),
    "pass",
)
print("job", smoke.id, smoke.get_state_display(), smoke.get_health_display())

private = TestJob.from_yaml_and_user(PRIVATE, bob)
private = run(
    private,
    qemu02,
    log(start + datetime.timedelta(hours=1), [], fail_at="bootloader timed out"),
    "fail",
    errors="bootloader timed out",
)
hang = JobFailureTag.objects.create(
    name="bootloader hang", description="U-Boot stopped answering"
)
private.failure_tags.add(hang)
private.failure_comment = "u-boot did not answer"
private.save()
print("job", private.id, private.get_state_display(), private.get_health_display())

with open("/etc/lava-server/dispatcher-config/health-checks/qemu.yaml") as f:
    check = f.read()
qemu01.refresh_from_db()
schedule_health_check(qemu01, check)
hc = TestJob.objects.filter(health_check=True).latest("id")
hc = run(hc, qemu01, log(start + datetime.timedelta(hours=2), []), "pass")
print("job", hc.id, "health check", hc.get_health_display())

# Not finished when the dump is made: counted by an import, not brought over.
queued = TestJob.from_yaml_and_user(QUEUED, bob)
print("job", queued.id, queued.get_state_display())
