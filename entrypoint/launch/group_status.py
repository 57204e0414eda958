"""Whether a Ray group has formed, and what to say when it has not (pure: node lists in, text out).

The head reads Ray's node table (`ray.nodes()`); every node `run` starts carries its rank as a
node label, so a missing node is named by rank, and each joined node by address and GPU count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from entrypoint.plan.node_role import RANK_LABEL


@dataclass(frozen=True)
class Member:
    node_id: str
    address: str
    gpus: int
    rank: int | None  # None for nodes `run` did not start (an existing Ray cluster)

    def describe(self) -> str:
        who = f"rank {self.rank}" if self.rank is not None else "node"
        gpus = f"{self.gpus} GPU" + ("" if self.gpus == 1 else "s")
        return f"{who} at {self.address} with {gpus}"


@dataclass(frozen=True)
class GroupStatus:
    members: tuple[Member, ...]  # alive nodes, by rank then address
    expected_nodes: int
    gpus_per_node: int
    labelled: bool  # ranks are known (run started every node) rather than only counted

    @property
    def missing_ranks(self) -> list[int]:
        present = {m.rank for m in self.members}
        return [rank for rank in range(self.expected_nodes) if rank not in present]

    @property
    def short_of_gpus(self) -> list[Member]:
        return [m for m in self.members if m.gpus < self.gpus_per_node]

    @property
    def formed(self) -> bool:
        if self.labelled:
            enough = not self.missing_ranks
        else:
            enough = len(self.members) >= self.expected_nodes
        return enough and not self.short_of_gpus

    def joined_text(self) -> str:
        return "; ".join(m.describe() for m in self.members) or "none"

    def problem_text(self) -> str:
        """What keeps the group from forming, naming ranks, addresses and GPU counts."""
        parts = []
        if self.labelled and self.missing_ranks:
            ranks = ", ".join(str(r) for r in self.missing_ranks)
            parts.append(f"rank{'s' if len(self.missing_ranks) > 1 else ''} {ranks} never joined")
        elif not self.labelled and len(self.members) < self.expected_nodes:
            parts.append(f"only {len(self.members)} of {self.expected_nodes} nodes are alive")
        for member in self.short_of_gpus:
            parts.append(f"{member.describe()} but {self.gpus_per_node} expected per node")
        return "; ".join(parts)


def _rank(labels: dict) -> int | None:
    try:
        return int(labels.get(RANK_LABEL))
    except (TypeError, ValueError):
        return None


def read_status(nodes: Iterable[dict], expected_nodes: int, gpus_per_node: int,
                labelled: bool) -> GroupStatus:
    """From Ray's node table (the dicts `ray.nodes()` returns) to the group's state."""
    members = [
        Member(node_id=node["NodeID"], address=node["NodeManagerAddress"],
               gpus=int(node.get("Resources", {}).get("GPU", 0)),
               rank=_rank(node.get("Labels") or {}))
        for node in nodes if node.get("Alive")
    ]
    members.sort(key=lambda m: (m.rank is None, m.rank if m.rank is not None else 0, m.address))
    return GroupStatus(tuple(members), expected_nodes, gpus_per_node, labelled)


def lost_members(before: GroupStatus, now: GroupStatus) -> list[Member]:
    """Members of the formed group that Ray no longer lists as alive."""
    alive = {m.node_id for m in now.members}
    return [m for m in before.members if m.node_id not in alive]
