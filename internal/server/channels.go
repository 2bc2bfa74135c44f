package server

import (
	"context"
	"errors"
	"fmt"

	"newsflash/internal/editor"
	"newsflash/internal/news"
	"newsflash/internal/push"
)

// pushChannel is one platform of the push service as the editor API's dry
// run sees it: the "web", "android" or "ios" audience and test
// notifications to a subscription or device id of that platform.
type pushChannel struct {
	svc      *push.Service
	platform string // push.PlatformWeb, …
}

var _ editor.Channel = pushChannel{}

// pushChannels are the channels of the platforms the service has enabled.
func pushChannels(svc *push.Service) []editor.Channel {
	var out []editor.Channel
	for _, p := range []string{push.PlatformWeb, push.PlatformAndroid, push.PlatformIOS} {
		if svc.Enabled(p) {
			out = append(out, pushChannel{svc: svc, platform: p})
		}
	}
	return out
}

func (p pushChannel) Name() string { return p.platform }

func (p pushChannel) Audience(it *news.Item) int { return p.svc.Audience(it, p.platform) }

func (p pushChannel) SendTest(ctx context.Context, id string, it news.Item) error {
	err := p.svc.SendTest(ctx, p.platform, id, it)
	if errors.Is(err, push.ErrUnknownSubscription) {
		return fmt.Errorf("%s push: %w", p.platform, editor.ErrUnknownSubscription)
	}
	return err
}
