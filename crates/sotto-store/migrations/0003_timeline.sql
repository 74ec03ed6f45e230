-- Sotto metadata schema, version 3: the timeline of live calls (issue 4). Mirrors TimelineRow in
-- crates/sotto-store/src/model.rs. Same conventions as 0001.
--
-- One row per event of a call's timeline: recording started / stopped / paused / resumed,
-- consent given / withdrawn, no legal basis, transcription gaps, automatic PCI pauses, DTMF
-- (without the digit), stream pauses, the close. Media time in ms since the call started.
-- `actor` is who caused it (`user:<id>`, `token:<id>`, `protocol:<name>`, `pipeline`,
-- `detector`, `engine`) — never a name. `detail` is JSON of enums and numbers only (basis,
-- interval ends). The free-text reason an agent or a CRM gave may hold personal data, so it is
-- sealed under the interaction's data key (field label `timeline/<seq>/reason`).
-- Written in the same transaction as its interaction; deleted with it (cascade).
CREATE TABLE timeline_events (
    interaction    TEXT    NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    at_ms          INTEGER NOT NULL,
    leg            INTEGER CHECK (leg IS NULL OR leg >= 0),
    kind           TEXT    NOT NULL CHECK (kind IN ('recording_started', 'recording_stopped',
                       'recording_paused', 'recording_resumed', 'consent_given',
                       'consent_withdrawn', 'no_legal_basis', 'gap', 'transcription_failed',
                       'pci_pause', 'dtmf', 'stream_paused', 'stream_resumed', 'closed')),
    detail         TEXT    NOT NULL,
    actor          TEXT    NOT NULL,
    sealed_reason  BLOB,
    PRIMARY KEY (interaction, seq)
) STRICT, WITHOUT ROWID;
