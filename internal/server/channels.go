package server

import (
	"context"
	"errors"
	"fmt"

	"newsflash/internal/editor"
	"newsflash/internal/news"
	"newsflash/internal/push"
)

// webChannel is Web Push as the editor API's dry run sees it (the "web"
// audience and test notifications).
type webChannel struct{ svc *push.Service }

var _ editor.Channel = webChannel{}

func (webChannel) Name() string { return "web" }

func (w webChannel) Audience(it *news.Item) int { return w.svc.Audience(it) }

func (w webChannel) SendTest(ctx context.Context, id string, it news.Item) error {
	err := w.svc.SendTest(ctx, id, it)
	if errors.Is(err, push.ErrUnknownSubscription) {
		return fmt.Errorf("web push: %w", editor.ErrUnknownSubscription)
	}
	return err
}
