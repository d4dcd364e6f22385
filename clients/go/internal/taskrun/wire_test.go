package taskrun

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestShippable_FieldsTheServerRefuses_LeftOutByName_TheRestKept(t *testing.T) {
	deep := any("bottom")
	for range 40 {
		deep = []any{deep}
	}
	r := Record{Level: "info", Message: "m", Fields: map[string]any{
		"nan":    math.NaN(),
		"chan":   make(chan int),
		"deep":   deep,
		"huge":   uint64(math.MaxUint64),
		"big":    strings.Repeat("x", maxFieldsBytes),
		"nul":    "a\x00b",
		"kept":   1,
		"float":  1e300,
		"nested": map[string]any{"n": []int{1, 2}},
	}}
	shipped, size := r.Shippable()
	raw, err := json.Marshal(shipped.Fields)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	leftOut, _ := got["fields_left_out"].([]any)
	names := make([]string, len(leftOut))
	for i, name := range leftOut {
		names[i] = name.(string)
	}
	if want := []string{"big", "chan", "deep", "huge", "nan"}; !slices.Equal(names, want) {
		t.Fatalf("left out %v, want %v", names, want)
	}
	if got["nul"] != "a\uFFFDb" || got["kept"] != 1.0 || got["float"] != 1e300 {
		t.Fatalf("kept fields: %v", got)
	}
	if size < len(raw) {
		t.Fatalf("size %d, but the fields alone are %d bytes", size, len(raw))
	}
}

func TestShippable_Message_TextTheServerStores_CutOnACharacter(t *testing.T) {
	long := strings.Repeat("x", MaxMessage-21) + "é" + strings.Repeat("y", 100)
	for _, message := range []string{"a\x00b\xffc", long} {
		shipped, _ := Record{Message: message}.Shippable()
		if !utf8.ValidString(shipped.Message) || strings.ContainsRune(shipped.Message, 0) || len(shipped.Message) > MaxMessage {
			t.Fatalf("shipped %q…", shipped.Message[:min(40, len(shipped.Message))])
		}
	}
	if shipped, _ := (Record{Message: "a\x00b\xffc"}).Shippable(); shipped.Message != "a\uFFFDb\uFFFDc" {
		t.Fatalf("%q", shipped.Message)
	}
}

func TestShippable_FieldNames_CutAndListedWithinBounds_SizeCountsThem(t *testing.T) {
	fields := map[string]any{strings.Repeat("k", 5<<20): 1}
	for i := range 150 { // 150 names of 100 KB, each cut to maxFieldName: more than maxFieldsBytes of them
		fields[fmt.Sprint(i)+strings.Repeat("n", 100_000)] = strings.Repeat("v", 100_000)
	}
	shipped, size := Record{Level: "info", Message: "m", Fields: fields}.Shippable()
	raw, err := json.Marshal(shipped.Fields)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > 2*maxFieldsBytes+1_000 {
		t.Fatalf("the fields are %d bytes as JSON", len(raw))
	}
	if size < len(raw) {
		t.Fatalf("size %d, but the fields alone are %d bytes", size, len(raw))
	}
	leftOut := shipped.Fields["fields_left_out"].([]string)
	if last := leftOut[len(leftOut)-1]; !strings.HasPrefix(last, "… and ") || !strings.HasSuffix(last, " more") {
		t.Fatalf("the names past the bound are not counted: %q", last[:min(40, len(last))])
	}
}
