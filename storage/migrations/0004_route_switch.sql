-- Schema version 4: the switch status of a session's route (issue 11).
-- routes.switch_state is the phase of a switch in progress ('' when none);
-- switch_started_at is when it started (0 for none), and last_switch is how
-- the last switch ended ('done', or 'failed: reason'), kept for the UI.
-- A switch is never in progress across a restart: the node abandons it at
-- start (AbandonSwitches).

ALTER TABLE routes ADD COLUMN switch_started_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE routes ADD COLUMN last_switch       TEXT    NOT NULL DEFAULT '';
