package scimtest

import (
	"encoding/json"
	"fmt"
	"time"
)

// snapshot is the emulator's durable state: registered clients, issued tokens, and the SCIM
// users and groups. The request log, latency and mode are not kept.
type snapshot struct {
	Version int                      `json:"version"`
	Clients map[string]string        `json:"clients"`
	Extra   map[string][]string      `json:"extraSecrets,omitempty"`
	Tokens  map[string]tokenSnapshot `json:"tokens"`
	Users   []resourceSnapshot       `json:"users"`
	Groups  []resourceSnapshot       `json:"groups"`
	Seq     int                      `json:"seq"`
}

type tokenSnapshot struct {
	ClientID string    `json:"clientId"`
	Expires  time.Time `json:"expires"`
}

type resourceSnapshot struct {
	ID       string         `json:"id"`
	Doc      map[string]any `json:"doc"`
	Created  time.Time      `json:"created"`
	Modified time.Time      `json:"modified"`
	Seq      int            `json:"seq"`
}

// Snapshot returns the emulator's clients, tokens, users and groups as JSON, for Restore in a
// later process (the sandbox's --state-dir). It holds client secrets: store it 0600.
func (s *Server) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := snapshot{Version: 1, Clients: s.clients, Extra: s.extra, Tokens: map[string]tokenSnapshot{}, Seq: s.seq}
	for tok, ti := range s.tokens {
		snap.Tokens[tok] = tokenSnapshot{ClientID: ti.clientID, Expires: ti.expires}
	}
	for _, r := range s.users {
		snap.Users = append(snap.Users, resourceSnapshot{ID: r.id, Doc: r.doc, Created: r.created, Modified: r.modified, Seq: r.seq})
	}
	for _, r := range s.groups {
		snap.Groups = append(snap.Groups, resourceSnapshot{ID: r.id, Doc: r.doc, Created: r.created, Modified: r.modified, Seq: r.seq})
	}
	return json.MarshalIndent(snap, "", "  ")
}

// Restore replaces the emulator's clients, tokens, users and groups with a Snapshot.
func (s *Server) Restore(data []byte) error {
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return fmt.Errorf("scimtest: restore: %w", err)
	}
	if snap.Version != 1 {
		return fmt.Errorf("scimtest: restore: unknown snapshot version %d", snap.Version)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients = map[string]string{}
	for k, v := range snap.Clients {
		s.clients[k] = v
	}
	s.extra = snap.Extra
	s.tokens = map[string]tokenInfo{}
	for k, v := range snap.Tokens {
		s.tokens[k] = tokenInfo{clientID: v.ClientID, expires: v.Expires}
	}
	load := func(in []resourceSnapshot) map[string]*resource {
		out := map[string]*resource{}
		for _, r := range in {
			out[r.ID] = &resource{id: r.ID, doc: r.Doc, created: r.Created, modified: r.Modified, seq: r.Seq}
		}
		return out
	}
	s.users, s.groups, s.seq = load(snap.Users), load(snap.Groups), snap.Seq
	return nil
}
