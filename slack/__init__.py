"""perfagent in Slack: Events API and the `/feedback` command, answered by the agent as the
Slack user's own person in the org file (`slack_user_id`), privately."""
