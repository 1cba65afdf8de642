-- A team member's own model scope (`allowed_models` on /team/member_add); empty means the team's
-- models apply alone. LiteLLM keeps it on the membership's budget row.
ALTER TABLE team_memberships ADD COLUMN allowed_models TEXT[] NOT NULL DEFAULT '{}';
