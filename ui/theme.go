package ui

import (
	_ "embed"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
)

// janusTheme is Fyne's own theme with one accent colour and a little more air. It asks the
// default theme for everything else with the variant Fyne passes in, so light and dark
// follow the system.
type janusTheme struct{}

var (
	accentLight = color.NRGBA{R: 0x4f, G: 0x5b, B: 0xd5, A: 0xff} // indigo, readable on white
	accentDark  = color.NRGBA{R: 0x8c, G: 0x95, B: 0xff, A: 0xff} // lighter for dark backgrounds
)

// Colour names of the theme's own surfaces.
const (
	colorNameBubble  fyne.ThemeColorName = "janusBubble"
	colorNameSidebar fyne.ThemeColorName = "janusSidebar"
	colorNameDim     fyne.ThemeColorName = "janusDim"
	colorNameTile    fyne.ThemeColorName = "janusTile"
)

func (janusTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	dark := v == theme.VariantDark
	accent := accentLight
	if dark {
		accent = accentDark
	}
	switch n {
	case theme.ColorNameForeground:
		return menuSafe{color.NRGBAModel.Convert(theme.DefaultTheme().Color(n, v)).(color.NRGBA)}
	case theme.ColorNamePrimary, theme.ColorNameHyperlink:
		return accent
	case theme.ColorNameForegroundOnPrimary:
		// Send's, Generate's and Save's text: white on the dark variant's light accent read
		// at 2.7:1; a deep indigo reads at about 7:1.
		if dark {
			return color.NRGBA{R: 0x12, G: 0x14, B: 0x33, A: 0xff}
		}
	case theme.ColorNameFocus:
		// Not the accent: Fyne blends this over a focused button's fill, and over Send's
		// and Generate's fill of the accent it changed nothing (a Tab stop with no sign).
		// A paler accent in dark, a deeper one in light, shows on the accent and off it.
		if dark {
			return color.NRGBA{R: 0xe0, G: 0xe3, B: 0xff, A: 0x68}
		}
		return color.NRGBA{R: 0x1e, G: 0x24, B: 0x80, A: 0x90}
	case theme.ColorNameSelection:
		return withAlpha(accent, 0x40)
	case theme.ColorNameDisabled, theme.ColorNamePlaceHolder:
		// Fyne's disabled grey is also the low-importance text colour (captions, speeds,
		// the model's details, the Create labels), often in the caption size: quiet, but at
		// WCAG's 4.5:1 on the window, the sidebar and the fields in both variants, as the
		// placeholder that says what to type (TestQuietTextReadable).
		if dark {
			return color.NRGBA{R: 0xa0, G: 0xa0, B: 0xa8, A: 0xff}
		}
		return color.NRGBA{R: 0x68, G: 0x68, B: 0x70, A: 0xff}
	case theme.ColorNameSuccess, theme.ColorNameWarning:
		// Fyne's green and orange are made for dark backgrounds: as text on white ("Ready",
		// the API's address) they read at under 2:1. Darker shades reach about 5:1.
		if !dark {
			if n == theme.ColorNameSuccess {
				return color.NRGBA{R: 0x1b, G: 0x7f, B: 0x2a, A: 0xff}
			}
			return color.NRGBA{R: 0xa8, G: 0x58, B: 0x00, A: 0xff}
		}
		if n == theme.ColorNameSuccess {
			// Fyne's dark green is a neon beside the accent; a quieter green still reads.
			return color.NRGBA{R: 0x6c, G: 0xc7, B: 0x7a, A: 0xff}
		}
	case theme.ColorNameOverlayBackground, theme.ColorNameMenuBackground:
		// Dialogs, menus and hints a step above the window's grey: Fyne's dark navy made
		// every pop-up look like another app's.
		if dark {
			return color.NRGBA{R: 0x23, G: 0x23, B: 0x27, A: 0xff}
		}
	case colorNameBubble:
		if dark {
			return color.NRGBA{R: 0x2f, G: 0x32, B: 0x48, A: 0xff}
		}
		return color.NRGBA{R: 0xe9, G: 0xeb, B: 0xfb, A: 0xff}
	case theme.ColorNameDisabledButton:
		// No fill: a disabled button is its grey label alone. Fyne's grey fill, a shade off
		// the enabled one, beside the disabled text colour that stays readable for quiet
		// text (above), made a disabled Load read as one that did nothing.
		return color.Transparent
	case colorNameSidebar:
		if dark {
			return color.NRGBA{R: 0x1c, G: 0x1c, B: 0x1f, A: 0xff}
		}
		return color.NRGBA{R: 0xf3, G: 0xf3, B: 0xf5, A: 0xff}
	case colorNameTile:
		if dark {
			return color.NRGBA{R: 0x2a, G: 0x2a, B: 0x2e, A: 0xff}
		}
		return color.NRGBA{R: 0xe6, G: 0xe6, B: 0xea, A: 0xff}
	case colorNameDim:
		if dark {
			return color.NRGBA{R: 0x14, G: 0x14, B: 0x17, A: 0xa0}
		}
		return color.NRGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xa0}
	}
	return theme.DefaultTheme().Color(n, v)
}

func (janusTheme) Font(s fyne.TextStyle) fyne.Resource     { return theme.DefaultTheme().Font(s) }
func (janusTheme) Icon(n fyne.ThemeIconName) fyne.Resource { return theme.DefaultTheme().Icon(n) }

func (janusTheme) Size(n fyne.ThemeSizeName) float32 {
	switch n {
	case theme.SizeNameInputRadius, theme.SizeNameSelectionRadius:
		return 8
	}
	return theme.DefaultTheme().Size(n)
}

// menuSafe is an opaque text colour whose 16-bit alpha is a hair under opaque (0xffc6 of
// 0xffff, which every painter draws as opaque): Fyne 2.7's menus draw shortcuts ("Ctrl+N")
// in the foreground at 95 % alpha computed as uint8(alpha16·0.95), the low byte of a 16-bit
// value, which for an opaque colour is 0x32, 20 % (the shortcuts read at about 1.4:1). With
// this alpha that byte is 0xfc.
type menuSafe struct{ color.NRGBA }

// menuSafeAlpha is menuSafe's 16-bit alpha.
const menuSafeAlpha = 0xffc6

// RGBA is the colour's channels, at most the alpha (a premultiplied colour's may not exceed
// it: Fyne's foregrounds stay under 0xf3f3), with the alpha above.
func (c menuSafe) RGBA() (r, g, b, a uint32) {
	r, g, b, _ = c.NRGBA.RGBA()
	return min(r, menuSafeAlpha), min(g, menuSafeAlpha), min(b, menuSafeAlpha), menuSafeAlpha
}

func withAlpha(c color.NRGBA, a uint8) color.NRGBA {
	c.A = a
	return c
}

// Theme is the app's theme, for main to set on the fyne.App.
func Theme() fyne.Theme { return janusTheme{} }

//go:embed icons/dice.svg
var diceSVG []byte

// diceIcon marks the button that draws a new random seed: Fyne has no dice, and its refresh
// arrow, used there before, reads as "reload" (and is the Variations button's icon).
func diceIcon() fyne.Resource {
	return theme.NewThemedResource(fyne.NewStaticResource("dice.svg", diceSVG))
}

//go:embed icons/chat.svg
var chatSVG []byte

// chatIcon marks chats (New chat, the Chat tab, a chat in the history, Ask): Fyne's nearest,
// an envelope with a pen, reads as e-mail.
func chatIcon() fyne.Resource {
	return theme.NewThemedResource(fyne.NewStaticResource("chat.svg", chatSVG))
}

// quietFields is the app's theme without the tick Fyne draws in every entry whose text is
// valid: in a form of such fields it is only noise beside each; an invalid field still shows
// its mark, and the form says what is wrong.
type quietFields struct{ janusTheme }

// softFocus puts a select under a theme whose focus colour is the selection's faint accent:
// Fyne fills a focused select with the focus colour, and the strong one buttons need left
// its text at about 2:1 in the light variant (4.4:1 in the dark).
func softFocus(sel fyne.CanvasObject) fyne.CanvasObject {
	return container.NewThemeOverride(sel, softFocusTheme{})
}

// softFocusTheme is the app's theme with the selection's colour for focus.
type softFocusTheme struct{ janusTheme }

func (softFocusTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if n == theme.ColorNameFocus {
		n = theme.ColorNameSelection
	}
	return janusTheme{}.Color(n, v)
}

func (quietFields) Icon(n fyne.ThemeIconName) fyne.Resource {
	if n == theme.IconNameConfirm {
		return blankIcon
	}
	return janusTheme{}.Icon(n)
}

// blankIcon draws nothing.
var blankIcon = fyne.NewStaticResource("blank.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24"/>`))
