#pragma once

// What a Maintenance.Alarm request changes, as etcd's applier decides it: ACTIVATE of
// NOSPACE raises the alarm, DEACTIVATE of NOSPACE (or of no type) clears it. Every other
// request (GET, another type, an action etcd's enum lacks) changes nothing and is answered
// with the list. The maintenance actor applies by it; a cluster member forwards to the leader
// only what changes something (actors/cluster_gate.cpp), so a follower answers the rest as
// the leader would.

#include "protocol/messages.hpp"

namespace revkv::actors {

enum class AlarmEffect { none, raise, clear };

inline AlarmEffect alarm_effect(const protocol::AlarmRequest& r) {
  const bool nospace = r.alarm == protocol::AlarmType::nospace;
  if (r.action == protocol::AlarmAction::activate && nospace) return AlarmEffect::raise;
  if (r.action == protocol::AlarmAction::deactivate &&
      (nospace || r.alarm == protocol::AlarmType::none))
    return AlarmEffect::clear;
  return AlarmEffect::none;
}

// Whether the answer to a request that changes nothing lists a raised NOSPACE alarm: a GET
// lists the alarms of the type it names (every one for NONE), as etcd's alarm store; the
// other requests list them all.
inline bool lists_nospace(const protocol::AlarmRequest& r) {
  if (r.action != protocol::AlarmAction::get) return true;
  return r.alarm == protocol::AlarmType::none || r.alarm == protocol::AlarmType::nospace;
}

}  // namespace revkv::actors
