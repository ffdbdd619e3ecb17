"""The policy pack `pulumi preview --policy-pack infra/policy` runs. Constructing it serves it."""

from pulumi_policy import EnforcementLevel, PolicyPack

from policies import POLICIES

PolicyPack(name="amlops", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
