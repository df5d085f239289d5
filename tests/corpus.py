"""The tiny corpus the tests build their files from: four positive, four negative reviews."""

POSITIVE = ["a wonderful film, great acting and a great story",
            "i loved it! the best movie this year",
            "brilliant and moving, wonderful music",
            "great fun, loved every minute"]
NEGATIVE = ["a terrible film, awful acting and a boring story",
            "i hated it. the worst movie this year",
            "dull and stupid, awful music",
            "boring, a waste of time"]
