-- A member's own time zone (issue 12): an IANA name such as Europe/London
-- from the directory's optional `timezone` column; NULL = the circle's.
ALTER TABLE members ADD COLUMN timezone TEXT;
