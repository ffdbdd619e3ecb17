"""The policy pack `pulumi preview --policy-pack infra/policy` runs. Constructing it serves it."""

from policies import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name="amlops", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
