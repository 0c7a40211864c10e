package app

import (
	"context"
	"errors"
	"io/fs"

	"github.com/janus-desktop/janus/model"
	"github.com/janus-desktop/janus/model/weights"
)

// LoadAdvice says what to do about an error of LoadEngine or StartLoad, for the dialog that
// shows it under the error itself; "" for a cancelled load, which needs no advice.
func LoadAdvice(err error) string {
	var bind *weights.BindError
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return ""
	case errors.Is(err, model.ErrNotEnoughMemory):
		return "Close other programs to free memory, or choose a smaller model: Janus-Pro-1B needs the least."
	case errors.Is(err, model.ErrMetalUnavailable):
		return "Choose the CPU backend (or Automatic) in Settings."
	case errors.As(err, &bind):
		return "The weights do not fit the folder's config.json: the folder may mix files of two models, or a download was cut short. Download the model again."
	case errors.Is(err, fs.ErrNotExist):
		return "A file of the model is missing: download the model again, or choose a complete model folder."
	}
	return "Check that the folder holds a complete Janus or Janus-Pro model (config.json, the weights and the tokenizer files), or download it again."
}
