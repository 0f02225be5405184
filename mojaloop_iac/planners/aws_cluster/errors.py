"""The one error the AWS cluster planner raises: the message names the setting to change."""


class AwsClusterPlanError(ValueError):
    pass
