-- Schema version 5: each stored message's fingerprint (the first 8 bytes
-- of its hash, big-endian, as a signed 64-bit integer), so a restoring
-- engine reads its history without the bodies. NULL for rows stored
-- before this version: the node computes those on restore.

ALTER TABLE messages ADD COLUMN fp INTEGER;
