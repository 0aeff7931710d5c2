// libyaml, linked from its static archive (":libyaml.a" in the module map): the hosts get pgha
// without a libyaml package, as they got it with Yams's bundled copy.
#include <yaml.h>
