"""Event ids drawn in bulk are proper, unique version 4 UUIDs, never shared with a forked child."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
import uuid

import pytest

from plumberd_logging._ids import new_event_id


def test_ids_are_unique_random_version_4_uuids() -> None:
    ids = [new_event_id() for _ in range(3000)]  # several batches
    assert len(set(ids)) == len(ids)
    for guid in ids[:300]:
        assert isinstance(guid, uuid.UUID)
        assert guid.version == 4
        assert guid.variant == uuid.RFC_4122
        assert uuid.UUID(str(guid)) == guid
        assert hash(guid) == hash(uuid.UUID(str(guid)))
        assert pickle.loads(pickle.dumps(guid)) == guid


@pytest.mark.skipif(sys.platform == "win32", reason="os.fork")
def test_a_forked_child_draws_other_ids_than_its_parent() -> None:
    code = textwrap.dedent(
        """
        import json, os
        from plumberd_logging._ids import new_event_id

        new_event_id()  # a batch is drawn: the child must not reuse what is left of it
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.write(write, json.dumps([str(new_event_id()) for _ in range(10)]).encode())
            os._exit(0)
        os.close(write)
        child = json.loads(os.read(read, 65536))
        os.waitpid(pid, 0)
        print(json.dumps({"child": child, "parent": [str(new_event_id()) for _ in range(10)]}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    drawn = json.loads(done.stdout)
    assert len(drawn["child"]) == len(drawn["parent"]) == 10
    assert not set(drawn["child"]) & set(drawn["parent"])
