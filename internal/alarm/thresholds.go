package alarm

// Level is the value from which a severity holds.
type Level struct {
	Severity Severity
	At       float64
}

// Thresholds map a value to a severity: the most severe level whose
// threshold the value reaches (or, with Below, falls to). An alarm already
// raised at a level keeps it until the value moves Hysteresis (a fraction
// of that level's threshold) back past it: a value hovering around a
// threshold does not raise and clear in turn.
type Thresholds struct {
	Levels     []Level
	Hysteresis float64
	Below      bool
}

// Level is the severity for value when the alarm is at current ("" for
// none); "" means the condition does not hold.
func (t Thresholds) Level(value float64, current Severity) Severity {
	reaches := func(at, slack float64) bool {
		if t.Below {
			return value <= at+slack
		}
		return value >= at-slack
	}
	best := None
	for _, l := range t.Levels {
		slack := 0.0
		if current != None && l.Severity <= current {
			slack = abs(l.At) * t.Hysteresis // the levels held keep their slack
		}
		if reaches(l.At, slack) && l.Severity > best {
			best = l.Severity
		}
	}
	return best
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
