//! The known AMI header names: a small, closed vocabulary whose Python strings are made once
//! and shared by every message (the binding crate interns them).

/// Header names seen on Asterisk 13–22 (events, responses, list items), in the exact
/// spelling Asterisk sends. Lookups are exact byte matches; other spellings are just
/// unknown keys.
pub const KNOWN_KEYS: &[&str] = &[
    "Event", "Response", "Action", "ActionID", "Privilege", "Message", "EventList", "ListItems",
    "Output", "Ping", "Timestamp", "SystemName", "SequenceNumber", "File", "Line", "Func",
    // Channel snapshot, plus its prefixed copies.
    "Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
    "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context", "Exten",
    "Priority", "Uniqueid", "Linkedid", "Tenantid",
    "DestChannel", "DestChannelState", "DestChannelStateDesc", "DestCallerIDNum",
    "DestCallerIDName", "DestConnectedLineNum", "DestConnectedLineName", "DestLanguage",
    "DestAccountCode", "DestContext", "DestExten", "DestPriority", "DestUniqueid", "DestLinkedid",
    "LocalOneChannel", "LocalOneChannelState", "LocalOneChannelStateDesc", "LocalOneCallerIDNum",
    "LocalOneCallerIDName", "LocalOneConnectedLineNum", "LocalOneConnectedLineName",
    "LocalOneLanguage", "LocalOneAccountCode", "LocalOneContext", "LocalOneExten",
    "LocalOnePriority", "LocalOneUniqueid", "LocalOneLinkedid",
    "LocalTwoChannel", "LocalTwoChannelState", "LocalTwoChannelStateDesc", "LocalTwoCallerIDNum",
    "LocalTwoCallerIDName", "LocalTwoConnectedLineNum", "LocalTwoConnectedLineName",
    "LocalTwoLanguage", "LocalTwoAccountCode", "LocalTwoContext", "LocalTwoExten",
    "LocalTwoPriority", "LocalTwoUniqueid", "LocalTwoLinkedid", "LocalOptimization",
    "ChanVariable", "Variable", "Value", "Extension", "Application", "AppData", "Cause",
    "Cause-txt", "CID-CallingPres", "DialString", "DialStatus", "Forward", "Status", "State",
    "Reason", "Data", "Duration", "BillableSeconds",
    // Bridges.
    "BridgeUniqueid", "BridgeType", "BridgeTechnology", "BridgeCreator", "BridgeName",
    "BridgeNumChannels", "BridgeVideoSourceMode", "BridgeVideoSource", "BridgeID", "BridgeId",
    // Queues and agents.
    "Queue", "Interface", "MemberName", "StateInterface", "Membership", "Penalty", "CallsTaken",
    "LastCall", "LastPause", "LoginTime", "InCall", "Paused", "PausedReason", "Wrapuptime",
    "Position", "Count", "OriginalPosition", "HoldTime", "Holdtime", "TalkTime", "RingTime",
    "Agent", "Max", "Strategy", "Calls", "Completed", "Abandoned", "ServiceLevel",
    "ServicelevelPerf", "ServicelevelPerf2", "Weight", "LoggedIn", "Available", "Callers",
    "LongestHoldTime",
    // Devices, peers, security and misc.
    "Device", "Hint", "StatusText", "Peer", "PeerStatus", "ChannelType", "Address", "Port",
    "Result", "Digit", "Direction", "DurationMs", "UserEvent", "Severity", "Service",
    "EventVersion", "EventTV", "AccountID", "SessionID", "LocalAddress", "RemoteAddress",
    "UsingPassword", "SessionTV", "Module", "Uptime", "LastReload", "Items", "Item", "Key",
    "Family", "Val", "Source", "Destination", "DestinationContext", "DestinationChannel",
    "LastApplication", "LastData", "StartTime", "AnswerTime", "EndTime", "Disposition",
    "AMAFlags", "UserField", "CallerID", "Username", "Secret", "Events", "Command",
];

#[cfg(test)]
mod tests {
    use super::KNOWN_KEYS;
    use std::collections::HashSet;

    #[test]
    fn no_duplicates_and_no_separators() {
        let mut seen = HashSet::new();
        for key in KNOWN_KEYS {
            assert!(seen.insert(*key), "duplicate {key}");
            assert!(!key.is_empty() && key.bytes().all(|b| b.is_ascii_graphic() && b != b':'));
        }
    }
}
