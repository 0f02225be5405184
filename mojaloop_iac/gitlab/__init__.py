"""What happens once GitLab answers (profile `full`): Vault login through GitLab and the runner's token.

- `api`: a small GitLab REST client (admin token read from an environment variable per operation);
- `inputs`: the resource's validated input bag (plain data from `planners.control_center.gitlab`);
- `post_install`: the dynamic provider converging GitLab and Vault on that plan;
- `resource`: the Pulumi resource over it and the helper the program calls.

`resource` imports Pulumi's resource machinery; import it only where resources are declared.
"""
