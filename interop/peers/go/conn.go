// A small frame-level HTTP/2 endpoint on golang.org/x/net/http2's Framer and hpack: enough
// connection management (SETTINGS, PING, flow control, HEADERS/DATA) to carry the
// secondary-certificate extension frames on stream 0 next to ordinary requests.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Codepoints (project defaults, digest http2-secondary-certs §5; drafts say 0xTBD).
const (
	settingServerCertAuth       = http2.SettingID(0xf5a1)
	settingClientCertAuth       = http2.SettingID(0xf5a2)
	frameServerCertificate      = 0xf8
	frameAuthRequests           = 0xf9
	frameClientCertificate      = 0xfa
	errServerCertificateInvalid = http2.ErrCode(0xf5a1)
	ourMaxFrameSize             = 65536
)

type h2stream struct {
	headers []hpack.HeaderField
	status  string
	body    bytes.Buffer
	done    bool
}

type h2conn struct {
	conn         net.Conn
	fr           *http2.Framer
	encBuf       bytes.Buffer
	enc          *hpack.Encoder
	peerSettings map[http2.SettingID]uint32
	gotSettings  bool
	peerMaxFrame uint32
	streams      map[uint32]*h2stream
	// onExtension handles frames of unknown type (the extension frames); an error ends the run.
	onExtension func(f *http2.UnknownFrame) error
	// onHeaders (server side) sees a request's header block.
	onHeaders func(streamID uint32, fields []hpack.HeaderField, endStream bool) error
	goaway    *http2.GoAwayFrame
}

func newH2conn(c net.Conn) *h2conn {
	h := &h2conn{conn: c, peerSettings: map[http2.SettingID]uint32{}, peerMaxFrame: 16384, streams: map[uint32]*h2stream{}}
	h.fr = http2.NewFramer(c, c)
	h.fr.SetMaxReadFrameSize(ourMaxFrameSize)
	h.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	h.enc = hpack.NewEncoder(&h.encBuf)
	return h
}

// step reads and handles one frame.
func (h *h2conn) step() error {
	f, err := h.fr.ReadFrame()
	if err == http2.ErrFrameTooLarge {
		// RFC 9113 §4.2: a frame above our SETTINGS_MAX_FRAME_SIZE is a connection error of type
		// FRAME_SIZE_ERROR; say so with a GOAWAY before closing (the Framer only reports it).
		h.fr.WriteGoAway(0, http2.ErrCodeFrameSize, []byte("frame larger than SETTINGS_MAX_FRAME_SIZE"))
		return err
	}
	if err != nil {
		return err
	}
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		f.ForeachSetting(func(s http2.Setting) error {
			h.peerSettings[s.ID] = s.Val
			if s.ID == http2.SettingMaxFrameSize {
				h.peerMaxFrame = s.Val
			}
			return nil
		})
		h.gotSettings = true
		return h.fr.WriteSettingsAck()
	case *http2.PingFrame:
		if !f.IsAck() {
			return h.fr.WritePing(true, f.Data)
		}
	case *http2.GoAwayFrame:
		h.goaway = f
		return fmt.Errorf("GOAWAY code=0x%x last_stream=%d debug=%q", uint32(f.ErrCode), f.LastStreamID, f.DebugData())
	case *http2.MetaHeadersFrame:
		if h.onHeaders != nil {
			return h.onHeaders(f.StreamID, f.Fields, f.StreamEnded())
		}
		st := h.stream(f.StreamID)
		st.headers = append(st.headers, f.Fields...)
		if v := f.PseudoValue("status"); v != "" {
			st.status = v
		}
		if f.StreamEnded() {
			st.done = true
		}
	case *http2.DataFrame:
		st := h.stream(f.StreamID)
		st.body.Write(f.Data())
		if n := uint32(len(f.Data())); n > 0 {
			// Give the window back so long bodies never stall.
			if err := h.fr.WriteWindowUpdate(0, n); err != nil {
				return err
			}
			if !f.StreamEnded() {
				if err := h.fr.WriteWindowUpdate(f.StreamID, n); err != nil {
					return err
				}
			}
		}
		if f.StreamEnded() {
			st.done = true
		}
	case *http2.RSTStreamFrame:
		return fmt.Errorf("stream %d reset with code 0x%x", f.StreamID, uint32(f.ErrCode))
	case *http2.UnknownFrame:
		if h.onExtension != nil {
			return h.onExtension(f)
		}
	}
	return nil
}

func (h *h2conn) stream(id uint32) *h2stream {
	st := h.streams[id]
	if st == nil {
		st = &h2stream{}
		h.streams[id] = st
	}
	return st
}

// until handles frames until cond holds or the time runs out.
func (h *h2conn) until(cond func() bool, d time.Duration, what string) error {
	h.conn.SetReadDeadline(time.Now().Add(d))
	defer h.conn.SetReadDeadline(time.Time{})
	for !cond() {
		if err := h.step(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return fmt.Errorf("timeout waiting for %s", what)
			}
			return err
		}
	}
	return nil
}

func (h *h2conn) headerBlock(fields ...hpack.HeaderField) []byte {
	h.encBuf.Reset()
	for _, f := range fields {
		h.enc.WriteField(f)
	}
	return append([]byte(nil), h.encBuf.Bytes()...)
}

// get opens stream `id` with a GET and END_STREAM.
func (h *h2conn) get(id uint32, authority, path string) error {
	block := h.headerBlock(
		hpack.HeaderField{Name: ":method", Value: "GET"},
		hpack.HeaderField{Name: ":scheme", Value: "https"},
		hpack.HeaderField{Name: ":authority", Value: authority},
		hpack.HeaderField{Name: ":path", Value: path},
	)
	return h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: true, EndHeaders: true})
}

// respond sends a complete response on a stream (server side); the body fits one frame.
func (h *h2conn) respond(id uint32, status string, contentType string, body []byte) error {
	block := h.headerBlock(
		hpack.HeaderField{Name: ":status", Value: status},
		hpack.HeaderField{Name: "content-type", Value: contentType},
	)
	if err := h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndHeaders: true}); err != nil {
		return err
	}
	return h.fr.WriteData(id, true, body)
}

// sendExtension writes an extension frame on stream 0, refusing what the peer cannot receive
// (RFC 9113 §4.2).
func (h *h2conn) sendExtension(typ uint8, payload []byte) error {
	if uint32(len(payload)) > h.peerMaxFrame {
		return fmt.Errorf("frame of %d bytes exceeds the peer's SETTINGS_MAX_FRAME_SIZE %d", len(payload), h.peerMaxFrame)
	}
	return h.fr.WriteRawFrame(http2.FrameType(typ), 0, 0, payload)
}

func (h *h2conn) goAway(code http2.ErrCode, debug string) {
	h.fr.WriteGoAway(0, code, []byte(debug))
}
