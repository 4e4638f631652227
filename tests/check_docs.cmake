# A generated doc must match what `BIN docs TOPIC` prints now (TOPIC: configuration, bench).
execute_process(COMMAND ${BIN} docs ${TOPIC} OUTPUT_VARIABLE generated RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cinesis docs ${TOPIC} failed: ${rc}")
endif()
file(READ ${DOC} committed)
if(NOT generated STREQUAL committed)
  message(FATAL_ERROR "${DOC} is stale: run `cinesis docs ${TOPIC} > ${DOC}`")
endif()
