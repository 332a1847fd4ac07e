{# brainconv: Brian2's cpp_standalone threshold template with a branchless loop.
   Brian2's loop writes a spike's index under `if(_cond)`, a branch mispredicted at the few-
   percent firing of converted networks. Here every neuron writes its index into the next free
   slot and the condition is added to the count, so a later non-spiking neuron overwrites a
   slot that was never counted: the same spikes, in the same order, without the branch.
   Groups with a refractory period keep the branch (they also write not_refractory and
   lastspike per spike). The rest is Brian2 2.9.0's templates/threshold.cpp. #}
{# USES_VARIABLES { N } #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    //// MAIN CODE ////////////
    // scalar code
    const int _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {% set _eventspace = get_array_name(eventspace_variable) %}

    long _count = 0;
    for(size_t _idx=0; _idx<N; _idx++)
    {
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
        {% if _uses_refractory %}
        if(_cond) {
            {{_eventspace}}[_count++] = _idx;
            {{not_refractory}}[_idx] = false;
            {{lastspike}}[_idx] = {{t}};
        }
        {% else %}
        {{_eventspace}}[_count] = _idx;
        _count += (_cond ? 1 : 0);
        {% endif %}
    }
    {{_eventspace}}[N] = _count;
{% endblock %}

{% block after_code %}
{% set _eventspace = get_array_name(eventspace_variable) %}
{{_eventspace}}[N] = 0;  // Note that this is not an off-by-1-error: the array has N+1 elements
{% endblock %}
