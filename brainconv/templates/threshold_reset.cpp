{# brainconv: a layer's threshold and reset as one code object (cpp_standalone), for groups
   without a refractory period (brainconv/thresholds.py builds it), instead of Brian2's two:
   1. brainconv's branchless threshold loop (threshold.cpp): every neuron writes its index
      into the next free slot and the condition is added to the count;
   2. the reset of each neuron that spiked, as Brian2's resetter would run it next.
   The same spikes in the same (ascending) order as Brian2's thresholder. Tried and measured
   slower or no faster (docs/performance.md): a vectorised pass of the conditions into the spike
   space followed by an in-place compaction that skips spike-free blocks of 8, and the same
   blocks with the conditions computed in registers. #}
{# USES_VARIABLES { N } #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    //// MAIN CODE ////////////
    {% set _eventspace = get_array_name(eventspace_variable) %}
    int32_t* __restrict _spikespace = {{_eventspace}};
    const int _N = N;
    long _count = 0;  // as threshold.cpp: no sign extension per store
    {
        const int _vectorisation_idx = -1;
        {{scalar_code['condition']|autoindent}}
        for(int _idx=0; _idx<_N; _idx++)
        {
            const size_t _vectorisation_idx = _idx;
            {{vector_code['condition']|autoindent}}
            _spikespace[_count] = _idx;
            _count += _cond ? 1 : 0;
        }
    }
    _spikespace[_N] = _count;
    {
        const int _vectorisation_idx = -1;
        {{scalar_code['reset']|autoindent}}
        for(long _j=0; _j<_count; _j++)
        {
            const size_t _idx = _spikespace[_j];
            const size_t _vectorisation_idx = _idx;
            {{vector_code['reset']|autoindent}}
        }
    }
{% endblock %}

{% block after_code %}
{% set _eventspace = get_array_name(eventspace_variable) %}
{{_eventspace}}[N] = 0;  // the array has N+1 elements: the count is the last
{% endblock %}
